"""The benchmark (``make bench``): one dev server it starts itself, one ``python worker.py``.

1. The lab's ParentWorkflow (bench/lab_baseline.py, its own worker process) against ours, start
   to result, for the small sizes (default 5, 100, 1,000, 2,000). The lab's runs go one at a time
   (its ``child-{v}`` ids collide otherwise); one that does not finish within --lab-timeout and
   started no child is reported as hanging, with the cause Temporal gives, and terminated.
2. Ours alone for the large sizes (default 10k, 100k, 1M), end to end through the real Bolt app
   (HTTP mode, signed slash commands) and the loopback fake Slack: command -> summary -> CSV file
   in the thread. Also: the CSV build alone (bot.results.value_rows into a temporary file), peak
   RSS of the worker and of this process (the bot), and the root's and largest shard's history.
3. Ack latency: 20 signed slash commands sent at once (from a separate process) while the 100k
   run (and the 1M run) is going.

    python -m bench [--quick] [--sizes 5,100,1000,2000,10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowHandle

from bench.bot_harness import BotHarness
from bench.infra import RESULTS, Proc, Stack, load, machine, peak_rss_mb, reset_peak_rss, wait_for_poller
from bench.report import Report, render
from bot.csv_export import write_csv
from bot.results import value_rows
from workflows.model import FanoutRequest, FanoutResult, ValueRange
from workflows.parent import ParentWorkflow

DEFAULT_SIZES = [5, 100, 1000, 2000, 2001, 10_000, 100_000, 1_000_000]
BASELINE_MAX = 2001  # sizes up to this are compared with the lab's workflow
ACK_SIZES = {100_000, 1_000_000}
BURST_CHANNEL = "CBURST"


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
    handle = await client.start_workflow("LabParentWorkflow", list(range(1, n + 1)),
                                         id=f"lab-{n}-{uuid.uuid4().hex[:6]}", task_queue=queue)
    started = time.monotonic()
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


async def run_ours(client: Client, queue: str, n: int) -> tuple[float, FanoutResult, str]:
    run_id = f"ours-{n}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    result = await client.execute_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, n)]), id=run_id,
                                           task_queue=queue)
    assert result.success_count + result.failure_count == n
    return time.monotonic() - started, result, run_id


async def compare(client: Client, queue: str, lab_queue: str, worker: Proc, lab: Proc, n: int,
                  lab_timeout: float, repeat: int) -> Compared:
    """The lab's run and ours, alternating, ``repeat`` times (once from 2,000 values); the medians."""
    labs: list[float] = []
    ours: list[float] = []
    note = ""
    reset_peak_rss(lab.pid)
    reset_peak_rss(worker.pid)
    for _ in range(repeat if n <= 1000 else 1):
        lab_s, note = await run_lab(client, lab_queue, n, lab_timeout)
        if lab_s is not None:
            labs.append(lab_s)
        ours_s, result, run_id = await run_ours(client, queue, n)
        ours.append(ours_s)
    return Compared(n, statistics.median(labs) if labs else None, note, statistics.median(ours), mode_of(result),
                    peak_rss_mb(worker.pid), peak_rss_mb(lab.pid), await history_stats(client, run_id), len(ours))


async def warm_up(client: Client, queue: str, lab_queue: str) -> None:
    """One small run of each first, so neither pays its worker's first-run imports in the table."""
    await client.execute_workflow("LabParentWorkflow", [1, 2, 3], id=f"lab-warm-{uuid.uuid4().hex[:6]}",
                                  task_queue=lab_queue)
    await run_ours(client, queue, 3)


@dataclass
class Large:
    n: int
    mode: str = ""
    workflow_s: float = 0.0
    summary_s: float = 0.0
    csv_s: float = 0.0  # command -> CSV file in the thread
    csv_build_s: float = 0.0
    csv_mb: float = 0.0
    worker_mb: float = 0.0
    bot_mb: float = 0.0
    root_history: tuple[int, int] = (0, 0)
    shard_history: tuple[int, int] = (0, 0)
    acks_ms: list[float] = field(default_factory=list)
    ack_statuses: list[int] = field(default_factory=list)


async def burst(bot: BotHarness, n: int) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.burst", bot.url, bot.secret, bot.fake.response_url("burst"), str(n), "1-5",
        BURST_CHANNEL,
        stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return json.loads(out)  # type: ignore[no-any-return]


async def large_run(bot: BotHarness, client: Client, worker: Proc, n: int, with_acks: bool) -> Large:
    out = Large(n)
    reset_peak_rss(worker.pid)
    reset_peak_rss()
    channel = f"CBENCH{n}"
    started = time.monotonic()
    status = await bot.command(f"1-{n}", channel)
    assert status == 200, status
    run_id = await bot.run_id_in(channel)
    handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
    if with_acks:
        while (await handle.query(ParentWorkflow.progress)).finished == 0:
            await asyncio.sleep(0.1)
        acks = await burst(bot, 20)
        out.acks_ms = [a["ms"] for a in acks]
        out.ack_statuses = [a["status"] for a in acks]
    await bot.summary_in(channel)
    out.summary_s = time.monotonic() - started
    content = await bot.file_in(channel, f"{run_id}.csv")
    out.csv_s = time.monotonic() - started
    out.csv_mb = len(content) / 2**20
    rows = content.count(b"\n") - 1
    assert rows == n, (rows, n)
    del content
    if with_acks:  # the burst's own runs post into the fake Slack too: let them finish first
        await bot.summaries_in(BURST_CHANNEL, len(out.acks_ms))
    bot.fake.drop_file_contents()
    result = await handle.result()
    out.mode, out.workflow_s = mode_of(result), result.wall_s
    with tempfile.TemporaryDirectory() as tmp:
        build_started = time.monotonic()
        assert await write_csv(value_rows(client, run_id, result), os.path.join(tmp, "rows.csv")) == n
        out.csv_build_s = time.monotonic() - build_started
    out.worker_mb, out.bot_mb = peak_rss_mb(worker.pid), peak_rss_mb()
    out.root_history = await history_stats(client, run_id)
    out.shard_history = await history_stats(client, f"{run_id}-s0") if result.shard_count else out.root_history
    return out


async def bench(args: argparse.Namespace) -> Report:
    sizes = sorted(args.sizes)
    if args.quick:
        sizes = [n for n in sizes if n < 100_000]
    report = Report(machine=machine(), load_before=load())
    stack = Stack()
    try:
        client = await stack.start_server()
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        worker = stack.start_worker("worker", ["worker.py"], queue)
        await wait_for_poller(client, queue)
        small = [n for n in sizes if n <= BASELINE_MAX]
        if small:
            lab_queue = f"bench-lab-{uuid.uuid4().hex[:8]}"
            lab = stack.start_worker("lab-worker", ["-m", "bench.lab_worker"], lab_queue)
            await wait_for_poller(client, lab_queue)
            await warm_up(client, queue, lab_queue)
            for n in small:
                print(f"bench: {n:,} values, lab baseline vs ours…", flush=True)
                report.compared.append(await compare(client, queue, lab_queue, worker, lab, n, args.lab_timeout,
                                                     args.repeat))
            lab.stop()
        large = [n for n in sizes if n > BASELINE_MAX]
        if large:
            bot = await BotHarness.start(stack.address, queue)
            try:
                ack_sizes = ACK_SIZES & set(large) or {max(large)}
                for n in large:
                    print(f"bench: {n:,} values through the bot…", flush=True)
                    report.large.append(await large_run(bot, client, worker, n, n in ack_sizes))
            finally:
                await bot.stop()
    finally:
        stack.stop()
    report.load_after = load()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="skip the 100k and 1M runs")
    parser.add_argument("--sizes", type=lambda s: [int(x.replace("_", "")) for x in s.split(",")],
                        default=DEFAULT_SIZES, help="comma-separated value counts (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side up to 1,000 values (alternating; medians reported)")
    parser.add_argument("--lab-timeout", type=float, default=60.0,
                        help="seconds a lab run may show no progress before it counts as hanging")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    report = asyncio.run(bench(args))
    markdown = render(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(markdown)
    print(markdown)
    print(f"(written to {RESULTS / 'latest.md'})")
    sys.stdout.flush()
    os._exit(0)  # the SDK can abort at interpreter exit (sdk-python #300); the results are out


if __name__ == "__main__":
    main()
