"""The lab's ParentWorkflow (bench/lab_baseline.py, its own worker process) against ours, start to result.

Each size gets a fresh dev server (the server slows as its in-memory store grows, so sizes measured on
one server would each be measured on a different server), one ``python worker.py`` and one lab worker,
both warmed up. The lab's runs and ours alternate; the medians are reported, so the machine's noise
(it is shared) falls on both. The lab's runs go one at a time (its ``child-{v}`` ids collide otherwise);
one that does not finish within ``lab_timeout`` and started no child is reported as hanging, with the
cause Temporal gives, and terminated.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle

from bench.infra import Stack, cpu_seconds, peak_rss_mb, reset_peak_rss, wait_for_poller
from workflows.model import FanoutRequest, FanoutResult, ValueRange
from workflows.parent import ParentWorkflow


def mode_of(result: FanoutResult) -> str:
    if result.batch_size <= 1:
        return "per-value"
    mode = f"batched ×{result.batch_size:,}"
    return f"{mode}, {result.shard_count} shards" if result.shard_count else mode


async def history_stats(client: Client, workflow_id: str) -> tuple[int, int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events), sum(e.ByteSize() for e in history.events)


async def lab_hang_cause(handle: WorkflowHandle) -> str | None:  # type: ignore[type-arg]
    """Why a lab run is stuck (no child started, workflow tasks failing), or None if it is moving."""
    started, cause = 0, ""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
            started += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            attrs = event.workflow_task_failed_event_attributes
            name = WorkflowTaskFailedCause.Name(attrs.cause).removeprefix("WORKFLOW_TASK_FAILED_CAUSE_")
            cause = "".join(part.title() for part in name.split("_"))
    if started:
        return None
    return cause or "no child started"


async def run_lab(client: Client, queue: str, n: int, timeout: float) -> tuple[float | None, str]:
    started = time.monotonic()  # before the start, as for ours (execute_workflow): both include its round trip
    handle = await client.start_workflow("LabParentWorkflow", list(range(1, n + 1)),
                                         id=f"lab-{n}-{uuid.uuid4().hex[:6]}", task_queue=queue)
    deadline = started + timeout
    while True:
        try:
            await asyncio.wait_for(handle.result(), max(deadline - time.monotonic(), 0.1))
            return time.monotonic() - started, ""
        except TimeoutError:
            cause = await lab_hang_cause(handle)
            if cause is not None or time.monotonic() - started > 10 * timeout:
                await handle.terminate("bench: the lab's workflow does not finish")
                return None, f"hangs ({cause or 'too slow'})"
            deadline = time.monotonic() + timeout  # children are running: it is slow, not stuck


async def run_ours(client: Client, queue: str, n: int) -> tuple[float, FanoutResult, str]:
    run_id = f"ours-{n}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    result = await client.execute_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, n)]), id=run_id,
                                           task_queue=queue)
    assert result.success_count + result.failure_count == n
    return time.monotonic() - started, result, run_id


@dataclass
class Compared:
    n: int
    lab_s: float | None
    lab_note: str
    ours_s: float
    mode: str
    worker_mb: float
    lab_worker_mb: float
    history: tuple[int, int]
    runs: int = 1
    server_cores: float = float("nan")  # the dev server's CPU during our runs, in cores of the machine
    worker_cores: float = float("nan")
    lab_pairs: list[tuple[float, float]] | None = None  # (lab s, ours s) of each alternating pair


async def compare_size(n: int, *, lab_timeout: float, repeat: int) -> Compared:
    """The lab's run and ours at ``n`` values, alternating ``repeat`` times (once from 2,000 values),
    on a dev server of their own."""
    stack = Stack()
    try:
        client = await stack.start_server(f"temporal-compare-{n}")
        queue, lab_queue = f"bench-{uuid.uuid4().hex[:8]}", f"bench-lab-{uuid.uuid4().hex[:8]}"
        worker = stack.start_worker("worker", ["worker.py"], queue)
        lab = stack.start_worker("lab-worker", ["-m", "bench.lab_worker"], lab_queue)
        await wait_for_poller(client, queue)
        await wait_for_poller(client, lab_queue)
        # One small run of each first, so neither pays its worker's first-run imports in the table.
        await client.execute_workflow("LabParentWorkflow", [1, 2, 3], id=f"lab-warm-{uuid.uuid4().hex[:6]}",
                                      task_queue=lab_queue)
        await run_ours(client, queue, 3)
        assert stack.server is not None
        reset_peak_rss(lab.pid)
        reset_peak_rss(worker.pid)
        labs: list[float] = []
        ours: list[float] = []
        pairs: list[tuple[float, float]] = []
        note = ""
        server_s = worker_s = ours_wall = 0.0
        for i in range(repeat if n <= 1000 else 1):
            # Which side goes first alternates too: a run just after another finds the server in a
            # different state (its queues' read timers, its store) than one after a pause.
            if i % 2:
                cpu = cpu_seconds(stack.server.pid), cpu_seconds(worker.pid)
                ours_s, result, run_id = await run_ours(client, queue, n)
                cpu = cpu_seconds(stack.server.pid) - cpu[0], cpu_seconds(worker.pid) - cpu[1]
            lab_s, note = await run_lab(client, lab_queue, n, lab_timeout)
            if lab_s is not None:
                labs.append(lab_s)
            if not i % 2:
                cpu = cpu_seconds(stack.server.pid), cpu_seconds(worker.pid)
                ours_s, result, run_id = await run_ours(client, queue, n)
                cpu = cpu_seconds(stack.server.pid) - cpu[0], cpu_seconds(worker.pid) - cpu[1]
            server_s += cpu[0]
            worker_s += cpu[1]
            ours_wall += ours_s
            ours.append(ours_s)
            if lab_s is not None:
                pairs.append((lab_s, ours_s))
        return Compared(n, statistics.median(labs) if labs else None, note, statistics.median(ours),
                        mode_of(result), peak_rss_mb(worker.pid), peak_rss_mb(lab.pid),
                        await history_stats(client, run_id), len(ours), server_s / ours_wall, worker_s / ours_wall,
                        pairs)
    finally:
        stack.stop()
