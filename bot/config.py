"""Configuration from the environment (and ``.env``, via python-dotenv). Read once, at start.

Every variable here is listed in ``.env.example`` and in the README's configuration table.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from dotenv import load_dotenv

from workflows.model import DEFAULT_TASK_QUEUE

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_UI_URL = "http://localhost:8233"
DEFAULT_MAX_VALUES = 1_000_000
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
    temporal_namespace: str
    max_values: int
    allowed_channels: frozenset[str]
    allowed_users: frozenset[str]
    progress_interval_s: float
    log_level: str
    recovery_interval_s: float = 15.0

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def claim_lease_s(self) -> float:
        """How long a bot holding a claim (to post a run's message or summary) may go quiet before
        another may take over. Takeovers happen on recovery scans, so a few intervals."""
        return max(4 * self.recovery_interval_s, 5.0)

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
        recovery_interval_s = _seconds("FANOUT_RECOVERY_INTERVAL", 15.0)
        return cls(
            slack_bot_token=bot_token,
            slack_signing_secret=secret,
            slack_app_token=app_token,
            slack_api_url=api_url,
            port=_int("PORT", 3000, minimum=1),
            host=env.get("HOST", "").strip() or "127.0.0.1",
            task_queue=task_queue(),
            temporal_ui_url=(env.get("TEMPORAL_UI_URL", "").strip() or DEFAULT_UI_URL).rstrip("/"),
            temporal_namespace=env.get("TEMPORAL_NAMESPACE", "").strip() or "default",
            max_values=_int("FANOUT_MAX_VALUES", DEFAULT_MAX_VALUES, minimum=1),
            allowed_channels=_ids("FANOUT_ALLOWED_CHANNELS"),
            allowed_users=_ids("FANOUT_ALLOWED_USERS"),
            progress_interval_s=max(progress_interval_s, 0.5),
            recovery_interval_s=max(recovery_interval_s, 0.5),
            log_level=log_level(),
        )
