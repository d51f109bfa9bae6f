"""Reading settings from the environment (and ``.env``, via python-dotenv), for every process: the worker's
own (its task queue, metrics, logging) and the helpers the bot's settings (bot.settings) are read with.

Every variable is listed in ``.env.example`` and in docs/configuration.md. A missing or malformed value is a
ConfigError naming the variable: the process says it in one line and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dotenv import load_dotenv

from workflows.model import DEFAULT_TASK_QUEUE

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


def load_dotenv_once() -> None:
    # The environment wins over .env, so deployments can override a checked-out file.
    load_dotenv(override=False)


def task_queue() -> str:
    return os.environ.get("FANOUT_TASK_QUEUE", "").strip() or DEFAULT_TASK_QUEUE


def whole_number(name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
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


def seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be seconds, got {raw!r}") from None


def slack_ids(name: str) -> frozenset[str]:
    """A comma-separated list of ids (Slack users or channels)."""
    return frozenset(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


def choice(name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices`` (the first by default)."""
    raw = os.environ.get(name, "").strip().lower() or choices[0]
    if raw not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {raw!r}")
    return raw


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
    port = whole_number("FANOUT_METRICS_PORT", 0, minimum=1, maximum=65535)
    host = os.environ.get("FANOUT_METRICS_HOST", "").strip() or "127.0.0.1"
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
