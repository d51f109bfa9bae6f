"""runtime.logs: LOG_LEVEL/LOG_FORMAT from the environment, the workflow id on every line about a run, and the
Temporal SDK core's own logs in the same format (real worker processes through a Temporal outage)."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtime.config import ConfigError
from runtime.logs import configure_logging
from runtime.temporal import CORE_LOGGER, CoreLogFilter, core_log_filter
from tests.entrypoints import PYTHON, Service, child_env, free_port, start_dev_server


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
    assert configure_logging({}, stream=io.StringIO(), core_logs=False) == "INFO"
    assert configure_logging({"LOG_LEVEL": "warn"}, stream=io.StringIO(), core_logs=False) == "WARNING"
    assert configure_logging({"LOG_LEVEL": " debug "}, stream=io.StringIO(), core_logs=False) == "DEBUG"
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"):
        configure_logging({"LOG_LEVEL": "loud"})
    with pytest.raises(ConfigError, match="LOG_FORMAT must be one of text, json; got 'yaml'"):
        configure_logging({"LOG_FORMAT": "yaml"})


def test_json_lines_carry_the_workflow_id() -> None:
    out = io.StringIO()
    configure_logging({"LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, stream=out, core_logs=False)
    log = logging.getLogger("fanout.test")
    log.info("no run here")
    log.info("explicit", extra={"workflow_id": "fanout-bbb"})
    logging.getLogger("temporalio.workflow").info("from a workflow", extra={"temporal_workflow": {
        "workflow_id": "fanout-ccc", "run_id": "r1"}})
    log.debug("below the level")
    entries = [json.loads(line) for line in lines(out)]
    assert [e["message"] for e in entries] == ["no run here", "explicit", "from a workflow"]
    assert [e.get("workflow_id") for e in entries] == [None, "fanout-bbb", "fanout-ccc"]
    assert entries[0]["level"] == "INFO" and entries[0]["logger"] == "fanout.test" and "time" in entries[0]


def test_text_lines_name_the_run_once() -> None:
    out = io.StringIO()
    configure_logging({}, stream=out, core_logs=False)
    log = logging.getLogger("fanout.test")
    run = {"workflow_id": "fanout-ddd"}
    log.info("run %s started", "fanout-ddd", extra=run)  # already named: not repeated
    log.warning("progress update failed", extra=run)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed", extra=run)
    first, second, third = lines(out)[:3]
    assert first.endswith("INFO fanout.test run fanout-ddd started")
    assert second.endswith("WARNING fanout.test progress update failed workflow_id=fanout-ddd")
    assert third.endswith("failed workflow_id=fanout-ddd") and "Traceback" in out.getvalue()


def test_bolts_unused_token_warning_is_dropped() -> None:
    out = io.StringIO()
    configure_logging({}, stream=out, core_logs=False)
    logging.getLogger("slack_bolt.AsyncApp").warning("As you gave `client` as well, `token` will be unused.")
    logging.getLogger("slack_bolt.AsyncApp").warning("something else")
    assert lines(out) and all("token` will be unused" not in line for line in lines(out))


def test_forwarded_core_records_are_one_plain_message() -> None:
    out = io.StringIO()
    configure_logging({"LOG_FORMAT": "json"}, stream=out, core_logs=False)
    core = logging.getLogger(CORE_LOGGER)
    core.addFilter(core_filter := CoreLogFilter())
    try:
        entry = SimpleNamespace(target="temporalio_client::retry",
                                message="gRPC call \x1b[1mpoll\x1b[0m retried 6 times",
                                fields={"error": "\x1b[3mStatus { code: Unavailable }\x1b[0m"})
        core.handle(core.makeRecord(CORE_LOGGER, logging.WARNING, "(sdk-core)", 0, entry.message, (), None,
                                    extra={"temporal_log": entry}))
        core.warning("100% not from the core")  # left alone
    finally:
        core.removeFilter(core_filter)
    first, second = (json.loads(line) for line in lines(out))
    assert first["message"] == ("temporalio_client::retry: gRPC call poll retried 6 times "
                                "error=Status { code: Unavailable }")
    assert (first["level"], first["logger"]) == ("WARNING", "temporalio.core")
    assert second["message"] == "100% not from the core"


def test_core_log_level_follows_log_level() -> None:
    assert core_log_filter("INFO").formatted().startswith("ERROR,temporalio_common=WARN,")
    assert (core_log_filter("DEBUG").core_level, core_log_filter("DEBUG").other_level) == ("INFO", "WARN")
    assert core_log_filter("WARNING").core_level == "WARN" and core_log_filter("ERROR").core_level == "ERROR"


TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ ")
CORE_RETRY = "temporalio_client::retry: gRPC call poll_"


def core_retries(worker: Service) -> int:
    """Lines about the core's poll retries, in whatever form (the format is checked afterwards)."""
    return sum("gRPC call poll_" in line and " retried " in line for line in worker.output().splitlines())


async def test_worker_logs_keep_their_format_while_temporal_is_down(tmp_path: Path) -> None:
    """The usual outage: Temporal dies after the worker connected. The SDK core then warns about its poll
    retries; those lines come out as JSON (LOG_FORMAT=json) or colourless text like every other line."""
    server = await start_dev_server()
    address = server.client.service_client.config.target_host
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    workers: dict[str, Service] = {}
    try:
        # Both formats at once (one outage, half the wait); the JSON worker also serves metrics, so its
        # runtime carries both the Prometheus endpoint and the log forwarding.
        for fmt, extra in (("json", {"FANOUT_METRICS_PORT": str(free_port())}), ("text", {})):
            env = child_env(TEMPORAL_ADDRESS=address, FANOUT_TASK_QUEUE=queue, LOG_FORMAT=fmt, LOG_LEVEL="INFO",
                            **extra)
            workers[fmt] = await Service.start([PYTHON, "worker.py"], env, tmp_path / f"worker-{fmt}.log")
        for worker in workers.values():
            await worker.wait_for_output(f"worker listening on task queue {queue}")
    finally:
        await server.shutdown()  # the outage (also when a worker failed to start)
    try:
        deadline = time.monotonic() + 45  # the core warns once a poll has been retried 6 times (~6 s)
        while any(core_retries(worker) < 3 for worker in workers.values()):
            for worker in workers.values():
                assert worker.proc.returncode is None, worker.output()
            assert time.monotonic() < deadline, {fmt: w.output() for fmt, w in workers.items()}
            await asyncio.sleep(0.2)
    finally:
        codes = {fmt: await worker.stop(timeout_s=15) for fmt, worker in workers.items()}
    outputs = {fmt: worker.output() for fmt, worker in workers.items()}
    assert codes == {"json": 0, "text": 0}, outputs

    entries = []
    for line in outputs["json"].splitlines():
        try:
            entries.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not JSON: {line!r}\n{outputs['json']}") from None
    core = [e for e in entries if e["logger"] == "temporalio.core"]
    assert core and all(e["level"] == "WARNING" and e["message"].startswith(CORE_RETRY) for e in core), core
    assert "\x1b[" not in outputs["json"]
    assert entries[-1]["message"] == "worker stopped"

    text = outputs["text"]
    assert "\x1b[" not in text, text
    bad = [line for line in text.splitlines() if not TEXT_LINE.match(line)]
    assert not bad, text
    assert f"WARNING temporalio.core {CORE_RETRY}" in text
    assert text.rstrip().endswith("INFO fanout.worker worker stopped"), text
