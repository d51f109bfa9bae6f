"""Logging for the bot, the worker and the CLI: LOG_LEVEL and LOG_FORMAT (text|json) from the environment.

Every record carries the workflow id of the run it is about, when one is known:

* inside a workflow, the Temporal SDK's ``workflow.logger`` puts it in ``extra["temporal_workflow"]``;
* elsewhere a call passes it itself: ``log.info("...", extra={"workflow_id": wf_id})``.

Text lines end with ``workflow_id=<id>`` unless the message already names it; JSON lines have a
``workflow_id`` field.

The Temporal SDK core's own logs (Rust: connection retries, worker start/stop) come through here too,
as logger ``temporalio.core`` (``configure_logging`` builds the process's Temporal runtime that forwards
them; runtime.temporal.process_runtime): ``<target>: <message> <field>=<value> ...``, without colour codes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from typing import Any, NoReturn

from runtime.config import ConfigError, load_dotenv_once, log_format, log_level
from runtime.temporal import process_runtime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"

def record_workflow_id(record: logging.LogRecord) -> str:
    explicit = getattr(record, "workflow_id", "")
    if explicit:
        return str(explicit)
    details = getattr(record, "temporal_workflow", None)
    if isinstance(details, Mapping) and details.get("workflow_id"):
        return str(details["workflow_id"])
    return ""


# Bolt reads SLACK_BOT_TOKEN from the environment even when given a ready client (as bot.app does), then
# warns at every start that the token is unused: expected here, so not logged. (The text of
# slack_bolt.logger.messages.warning_client_prioritized_and_token_skipped(); not imported, so that the
# worker does not load Bolt.)
_BENIGN = {("slack_bolt.AsyncApp", "As you gave `client` as well, `token` will be unused.")}


class RunFilter(logging.Filter):
    """Sets ``record.workflow_id`` ("" when the record is about no run). On handlers, so it sees every logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR and (record.name, record.getMessage()) in _BENIGN:
            return False
        record.workflow_id = record_workflow_id(record)
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        workflow_id = getattr(record, "workflow_id", "")
        if workflow_id and workflow_id not in record.getMessage():
            first, newline, rest = line.partition("\n")  # keep a traceback below the tagged line
            line = f"{first} workflow_id={workflow_id}{newline}{rest}"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, workflow_id (when known), exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        workflow_id = getattr(record, "workflow_id", "")
        if workflow_id:
            entry["workflow_id"] = workflow_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(env: Mapping[str, str] | None = None, *, stream: object = None,
                      core_logs: bool = True) -> str:
    """Configure the root logger from LOG_LEVEL/LOG_FORMAT; raises ConfigError for bad values.

    Returns the level name. Replaces handlers set earlier (so a second call changes the format).
    With ``core_logs`` (the entry points), also makes the process's Temporal runtime, which forwards
    the SDK core's logs here, the SDK's default (runtime.temporal.process_runtime; the core level is set
    by the first call). Call it before any Temporal client is created.
    """
    level, fmt = log_level(env), log_format(env)
    handler = logging.StreamHandler(stream or sys.stderr)  # type: ignore[arg-type]
    handler.addFilter(RunFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if core_logs:
        process_runtime(level=level)
    return level


def hard_exit(code: int) -> NoReturn:
    """Leave with our own exit code. A process that used the Temporal SDK can abort at interpreter
    shutdown (PyGILState_Release, exit 134; sdk-python #300), which would turn a clean stop red."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_service(prog: str, serve: Callable[[], Coroutine[Any, Any, None]],
                errors: tuple[type[Exception], ...] = (ConfigError,)) -> NoReturn:
    """A long-running entry point (``python -m bot``, ``python worker.py``): .env, logging, then
    ``serve()``. Start-up problems (``errors``) are one line and exit 2; Ctrl-C is a clean exit."""
    load_dotenv_once()
    code = 0
    try:
        configure_logging()
        asyncio.run(serve())
    except errors as err:
        print(f"{prog}: {err}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        pass
    hard_exit(code)
