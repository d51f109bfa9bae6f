"""bot.logs: LOG_LEVEL/LOG_FORMAT from the environment, and the workflow id on every line about a run."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.config import ConfigError
from bot.logs import bind_run, configure_logging, run_context


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_level_and_format_are_validated() -> None:
    assert configure_logging({}, stream=io.StringIO()) == "INFO"
    assert configure_logging({"LOG_LEVEL": "warn"}, stream=io.StringIO()) == "WARNING"
    assert configure_logging({"LOG_LEVEL": " debug "}, stream=io.StringIO()) == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"):
        configure_logging({"LOG_LEVEL": "loud"})
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json; got 'yaml'"):
        configure_logging({"LOG_FORMAT": "yaml"})


def test_json_lines_carry_the_workflow_id() -> None:
    out = io.StringIO()
    configure_logging({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, stream=out)
    log = logging.getLogger("fanout.test")
    log.info("no run here")
    with run_context("fanout-aaa"):
        log.info("inside a run context")
    log.info("explicit", extra={"workflow_id": "fanout-bbb"})
    logging.getLogger("temporalio.workflow").info("from a workflow", extra={"temporal_workflow": {
        "workflow_id": "fanout-ccc", "run_id": "r1"}})
    log.debug("below the level")
    entries = [json.loads(line) for line in lines(out)]
    assert [e["message"] for e in entries] == ["no run here", "inside a run context", "explicit", "from a workflow"]
    assert [e.get("workflow_id") for e in entries] == [None, "fanout-aaa", "fanout-bbb", "fanout-ccc"]
    assert entries[0]["level"] == "INFO" and entries[0]["logger"] == "fanout.test" and "time" in entries[0]


async def test_bind_run_tags_one_task_only() -> None:
    out = io.StringIO()
    configure_logging({"LOG_FORMAT": "json"}, stream=out)
    log = logging.getLogger("fanout.test")

    async def follow(workflow_id: str) -> None:
        bind_run(workflow_id)
        await asyncio.sleep(0)
        log.info("progress")

    await asyncio.gather(follow("fanout-1"), follow("fanout-2"))
    log.info("outside")
    ids = [json.loads(line).get("workflow_id") for line in lines(out)]
    assert sorted(ids[:2]) == ["fanout-1", "fanout-2"] and ids[2] is None


def test_text_lines_name_the_run_once() -> None:
    out = io.StringIO()
    configure_logging({}, stream=out)
    log = logging.getLogger("fanout.test")
    with run_context("fanout-ddd"):
        log.info("run %s started", "fanout-ddd")  # already named: not repeated
        log.warning("progress update failed")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("failed")
    first, second, third = lines(out)[:3]
    assert first.endswith("INFO fanout.test run fanout-ddd started")
    assert second.endswith("WARNING fanout.test progress update failed workflow_id=fanout-ddd")
    assert third.endswith("failed workflow_id=fanout-ddd") and "Traceback" in out.getvalue()


def test_bolts_unused_token_warning_is_dropped() -> None:
    out = io.StringIO()
    configure_logging({}, stream=out)
    logging.getLogger("slack_bolt.AsyncApp").warning("As you gave `client` as well, `token` will be unused.")
    logging.getLogger("slack_bolt.AsyncApp").warning("something else")
    assert lines(out) and all("token` will be unused" not in line for line in lines(out))
