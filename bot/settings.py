"""The bot's settings (and the terminal CLI's), read once at start from the environment and ``.env``
(runtime.config reads the values; a malformed one is a ConfigError naming the variable: one line, exit 2).

Every variable here is listed in ``.env.example`` and in docs/configuration.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bot.catalog import Scenario
from bot.language.scenario_file import ScenarioError, load_scenarios
from bot.queues import GROUPS, SlackBudget
from runtime.config import ConfigError, choice, log_level, seconds, slack_ids, task_queue, whole_number

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_UI_URL = "http://localhost:8233"
DEFAULT_MAX_VALUES = 1_000_000
# Runs one person may have going at once. A workshop of thirty sharing one 2-core dev server
# (~40 child workflows/s) stays responsive with up to ~90 runs going; three lets someone compare
# parallel, sequential and batched side by side.
DEFAULT_MAX_RUNS_PER_USER = 3
CANCEL_POLICIES = ("starter", "channel")


def slack_budget() -> SlackBudget:
    """FANOUT_SLACK_<GROUP>_PER_MINUTE: activities per minute on each Slack queue, and
    FANOUT_SLACK_POSTS_PER_CHANNEL_PER_MINUTE: posts per minute to one channel (bot.queues)."""
    values = {}
    for field_name in [*GROUPS, "posts_per_channel"]:
        name = f"FANOUT_SLACK_{field_name.upper()}_PER_MINUTE"
        raw = os.environ.get(name, "").strip()
        try:
            value = float(raw) if raw else float(getattr(SlackBudget, field_name))
        except ValueError:
            raise ConfigError(f"{name} must be a number of calls per minute, got {raw!r}") from None
        if value <= 0:
            raise ConfigError(f"{name} must be more than 0, got {raw!r}")
        values[field_name] = value
    return SlackBudget(**values)


def scenarios(max_values: int) -> tuple[Scenario, ...]:
    """FANOUT_SCENARIOS: the path of a TOML file of scenarios (bot.language.scenario_file); empty: none. Read and
    checked here, at start, so a mistake in it is one line and exit 2, never a command that fails later."""
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
        progress_interval_s = seconds("FANOUT_PROGRESS_INTERVAL", 3.0)
        max_values = whole_number("FANOUT_MAX_VALUES", DEFAULT_MAX_VALUES, minimum=1)
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=secret,
            slack_app_token=app_token,
            slack_api_url=api_url,
            port=whole_number("PORT", 3000, minimum=1),
            host=env.get("HOST", "").strip() or "127.0.0.1",
            task_queue=task_queue(),
            temporal_ui_url=(env.get("TEMPORAL_UI_URL", "").strip() or DEFAULT_UI_URL).rstrip("/"),
            max_values=max_values,
            allowed_channels=slack_ids("FANOUT_ALLOWED_CHANNELS"),
            allowed_users=slack_ids("FANOUT_ALLOWED_USERS"),
            progress_interval_s=max(progress_interval_s, 0.5),
            log_level=log_level(),
            environment=environment_name(),
            slack_budget=slack_budget(),
            max_runs_per_user=whole_number("FANOUT_MAX_RUNS_PER_USER", DEFAULT_MAX_RUNS_PER_USER, minimum=0),
            admin_users=slack_ids("FANOUT_ADMIN_USERS"),
            cancel_policy=choice("FANOUT_CANCEL_POLICY", CANCEL_POLICIES),
            approvers=slack_ids("FANOUT_APPROVERS"),
            approve_over=whole_number("FANOUT_APPROVE_OVER", 0, minimum=0),
            scenarios=scenarios(max_values),
        )
