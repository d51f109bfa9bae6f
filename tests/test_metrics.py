"""The worker as a real process: Temporal SDK metrics for Prometheus, graceful SIGTERM, one-line config errors."""

from __future__ import annotations

import socket
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from tests.entrypoints import PYTHON, Service, child_env, free_port, http_get, run
from workflows.model import FanoutRequest, ValueRange
from workflows.parent import ParentWorkflow

# Names the Temporal SDK (Core) exports once a worker has polled and run a workflow.
EXPECTED_METRICS = (
    "temporal_workflow_completed",
    "temporal_worker_task_slots_available",
    "temporal_num_pollers",
    "temporal_request",
    "temporal_workflow_task_execution_latency",
)


async def test_worker_serves_temporal_metrics_and_stops_cleanly(
    client: Client, temporal_address: str, tmp_path: Path
) -> None:
    port, queue = free_port(), f"metrics-{uuid.uuid4().hex[:8]}"
    env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=queue, FANOUT_METRICS_PORT=str(port))
    worker = await Service.start([PYTHON, "worker.py"], env, tmp_path / "worker.log")
    try:
        await worker.wait_for_output(f"worker listening on task queue {queue}")
        assert f"metrics for Prometheus on http://127.0.0.1:{port}/metrics" in worker.output()  # loopback by default
        result = await client.execute_workflow(
            ParentWorkflow.run, FanoutRequest(ranges=[ValueRange(1, 5)]), id=f"metrics-{uuid.uuid4().hex[:8]}",
            task_queue=queue, execution_timeout=timedelta(seconds=60),
        )
        assert (result.success_count, result.failure_count) == (3, 2)
        status, body = await http_get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200
        missing = [name for name in EXPECTED_METRICS if name not in body]
        assert not missing, f"not in /metrics: {missing}\n{body[:3000]}"
        assert f'task_queue="{queue}"' in body
    finally:
        code = await worker.stop(timeout_s=15)
    log = worker.output()
    assert code == 0, log
    assert "worker stopped" in log
    assert "Traceback" not in log


async def test_worker_metrics_port_taken_is_one_line_exit_2(temporal_address: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_METRICS_PORT=str(port))
        code, out, err = await run([PYTHON, "worker.py"], env, timeout_s=30)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("worker: cannot serve metrics on 127.0.0.1:"), err
    assert "FANOUT_METRICS_PORT" in err


async def test_worker_bad_settings_are_one_line_exit_2(temporal_address: str) -> None:
    for values, expected in (
        ({"LOG_LEVEL": "loud"}, "worker: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'LOUD'"),
        ({"FANOUT_METRICS_PORT": "http"}, "worker: FANOUT_METRICS_PORT must be a whole number, got 'http'"),
        ({"TEMPORAL_PROFILE": "nope", "TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"},
         "worker: TEMPORAL_CONFIG_FILE=/nonexistent/temporal.toml does not exist"),
    ):
        env = child_env(TEMPORAL_ADDRESS=temporal_address, **values)
        code, _, err = await run([PYTHON, "worker.py"], env, timeout_s=30)
        assert (code, err) == (2, expected + "\n")
