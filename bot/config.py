"""Configuration from the environment (and ``.env``, via python-dotenv). Read once, at start.

Every variable here is listed in ``.env.example`` and in the README's configuration table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from bot.catalog import Scenario
from bot.queues import GROUPS, SlackBudget, default_per_minute
from bot.scenarios import ScenarioError, load_scenarios
from workflows.model import DEFAULT_TASK_QUEUE

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_UI_URL = "http://localhost:8233"
DEFAULT_MAX_VALUES = 1_000_000
# Runs one person may have going at once. A workshop of thirty sharing one 2-core dev server
# (~40 child workflows/s) stays responsive with up to ~90 runs going; three lets someone compare
# parallel, sequential and batched side by side.
DEFAULT_MAX_RUNS_PER_USER = 3
CANCEL_POLICIES = ("starter", "channel")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_dotenv_once() -> None:
    # The environment wins over .env, so deployments can override a checked-out file.
    load_dotenv(override=False)


def task_queue() -> str:
    return os.environ.get("FANOUT_TASK_QUEUE", "").strip() or DEFAULT_TASK_QUEUE


def _int(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, got {value}")
    return value


def log_level(env: Mapping[str, str] | None = None) -> str:
    """LOG_LEVEL, validated (``WARN`` means WARNING); default INFO."""
    raw = (os.environ if env is None else env).get("LOG_LEVEL", "").strip().upper() or "INFO"
    level = "WARNING" if raw == "WARN" else raw
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}; got {raw!r}")
    return level


def log_format(env: Mapping[str, str] | None = None) -> str:
    """LOG_FORMAT: ``text`` (default) or ``json`` (one object per line)."""
    raw = (os.environ if env is None else env).get("LOG_FORMAT", "").strip().lower() or "text"
    if raw not in LOG_FORMATS:
        raise ConfigError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}; got {raw!r}")
    return raw


def metrics_bind_address() -> str | None:
    """``host:port`` for the worker's Prometheus endpoint (FANOUT_METRICS_HOST/PORT), or None when off."""
    if not os.environ.get("FANOUT_METRICS_PORT", "").strip():
        return None
    port = _int("FANOUT_METRICS_PORT", 0, minimum=1, maximum=65535)
    host = os.environ.get("FANOUT_METRICS_HOST", "").strip() or "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be seconds, got {raw!r}") from None


def _ids(name: str) -> frozenset[str]:
    return frozenset(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def _choice(name: str, choices: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return raw


def slack_budget() -> SlackBudget:
    """FANOUT_SLACK_<GROUP>_PER_MINUTE: activities per minute on each Slack queue (bot.queues)."""
    values = {}
    for group in GROUPS:
        name = f"FANOUT_SLACK_{group.upper()}_PER_MINUTE"
        raw = os.environ.get(name, "").strip()
        try:
            value = float(raw) if raw else default_per_minute(group)
        except ValueError:
            raise ConfigError(f"{name} must be a number of calls per minute, got {raw!r}") from None
        if value <= 0:
            raise ConfigError(f"{name} must be more than 0, got {raw!r}")
        values[group] = value
    return SlackBudget(**values)


def scenarios(max_values: int) -> tuple[Scenario, ...]:
    """FANOUT_SCENARIOS: the path of a TOML file of scenarios (bot.scenarios); empty: none. Read and checked
    here, at start, so a mistake in it is one line and exit 2, never a command that fails later."""
    path = os.environ.get("FANOUT_SCENARIOS", "").strip()
    if not path:
        return ()
    try:
        return load_scenarios(Path(path), max_values=max_values)
    except ScenarioError as err:
        raise ConfigError(f"FANOUT_SCENARIOS ({path}): {err}") from None


def environment_name() -> str:
    """FANOUT_ENV: part of the bot's task queue names, so environments sharing a namespace stay apart."""
    raw = os.environ.get("FANOUT_ENV", "").strip() or "prod"
    if not all(c.isalnum() or c in "-_" for c in raw) or len(raw) > 40:
        raise ConfigError(f"FANOUT_ENV must be letters, digits, - or _ (at most 40), got {raw!r}")
    return raw


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str
    slack_api_url: str
    port: int
    host: str
    task_queue: str
    temporal_ui_url: str
    max_values: int
    allowed_channels: frozenset[str]
    allowed_users: frozenset[str]
    progress_interval_s: float
    log_level: str
    environment: str = "prod"
    slack_budget: SlackBudget = SlackBudget()
    max_runs_per_user: int = DEFAULT_MAX_RUNS_PER_USER
    admin_users: frozenset[str] = frozenset()
    cancel_policy: str = "starter"
    approvers: frozenset[str] = frozenset()  # who may approve runs (empty: anyone in the channel but the starter)
    approve_over: int = 0  # runs of more values than this wait for an approval (0: only with --approve)
    scenarios: tuple[Scenario, ...] = ()  # the deployment's own (FANOUT_SCENARIOS), besides the lab's three

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @classmethod
    def from_env(cls, *, require_slack: bool = True) -> Settings:
        env = os.environ
        bot_token = env.get("SLACK_BOT_TOKEN", "").strip()
        app_token = env.get("SLACK_APP_TOKEN", "").strip()
        secret = env.get("SLACK_SIGNING_SECRET", "").strip()
        if require_slack:
            if not bot_token:
                raise ConfigError("SLACK_BOT_TOKEN is not set (the bot's xoxb- token; see .env.example)")
            if app_token and not app_token.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp- (Socket Mode)")
            if not app_token and not secret:
                raise ConfigError(
                    "SLACK_SIGNING_SECRET is not set (needed in HTTP mode; set SLACK_APP_TOKEN for Socket Mode)"
                )
        api_url = env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        if not api_url.endswith("/"):
            api_url += "/"
        progress_interval_s = _seconds("FANOUT_PROGRESS_INTERVAL", 3.0)
        max_values = _int("FANOUT_MAX_VALUES", DEFAULT_MAX_VALUES, minimum=1)
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=secret,
            slack_app_token=app_token,
            slack_api_url=api_url,
            port=_int("PORT", 3000, minimum=1),
            host=env.get("HOST", "").strip() or "127.0.0.1",
            task_queue=task_queue(),
            temporal_ui_url=(env.get("TEMPORAL_UI_URL", "").strip() or DEFAULT_UI_URL).rstrip("/"),
            max_values=max_values,
            allowed_channels=_ids("FANOUT_ALLOWED_CHANNELS"),
            allowed_users=_ids("FANOUT_ALLOWED_USERS"),
            progress_interval_s=max(progress_interval_s, 0.5),
            log_level=log_level(),
            environment=environment_name(),
            slack_budget=slack_budget(),
            max_runs_per_user=_int("FANOUT_MAX_RUNS_PER_USER", DEFAULT_MAX_RUNS_PER_USER, minimum=0),
            admin_users=_ids("FANOUT_ADMIN_USERS"),
            cancel_policy=_choice("FANOUT_CANCEL_POLICY", CANCEL_POLICIES),
            approvers=_ids("FANOUT_APPROVERS"),
            approve_over=_int("FANOUT_APPROVE_OVER", 0, minimum=0),
            scenarios=scenarios(max_values),
        )
