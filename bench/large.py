"""Large runs end to end through the real bot: a signed slash command -> the run's summary in its thread
-> the CSV of every value in the thread. Each size on a fresh dev server of its own, with one
``python worker.py`` and the bot as its own process (bench.bot_harness), the fake Slack in this process.

Also measured: the CSV build alone (bot.results.value_rows into a temporary file, in this process, after
the run), peak RSS of the worker and of the bot process during the run, the root's and the largest
shard's history, and — during the sizes in ``acks`` — the ack latency of 20 signed slash commands sent
at once from another process (bench.burst).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from temporalio.client import Client

from bench.bot_harness import BotHarness
from bench.compare import history_stats, mode_of
from bench.infra import RESULTS, Stack, cpu_seconds, peak_rss_mb, reset_peak_rss, wait_for_poller
from bot.csv_export import write_csv
from bot.results import value_rows
from workflows.model import FanoutResult
from workflows.parent import ParentWorkflow

BURST_CHANNEL = "CBURST"


@dataclass
class Large:
    n: int
    mode: str = ""
    workflow_s: float = 0.0
    summary_s: float = 0.0  # command -> summary in the thread
    csv_s: float = 0.0  # command -> CSV file in the thread
    csv_build_s: float = 0.0
    csv_mb: float = 0.0
    worker_mb: float = 0.0
    bot_mb: float = 0.0
    server_cores: float = 0.0  # CPU during command -> CSV, in cores
    worker_cores: float = 0.0
    bot_cores: float = 0.0
    children: int = 0  # child workflows of the run (batches, shards)
    root_history: tuple[int, int] = (0, 0)
    shard_history: tuple[int, int] = (0, 0)
    acks_ms: list[float] = field(default_factory=list)
    ack_statuses: list[int] = field(default_factory=list)


async def burst(bot: BotHarness, n: int) -> list[dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.burst", bot.url, bot.secret, bot.fake.response_url("burst"), str(n), "1-5",
        BURST_CHANNEL, stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    return json.loads(out)  # type: ignore[no-any-return]


async def large_run(n: int, *, with_acks: bool, text: str = "") -> Large:
    """``/fanout 1-<n>`` (or ``text``) through the bot, on a dev server of its own."""
    out = Large(n)
    stack = Stack()
    bot: BotHarness | None = None
    try:
        client = await stack.start_server(f"temporal-large-{n}")
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        worker = stack.start_worker("worker", ["worker.py"], queue)
        await wait_for_poller(client, queue)
        bot = await BotHarness.start(stack.address, queue, RESULTS / "logs")
        await warm_up(bot)
        assert stack.server is not None
        pids = (stack.server.pid, worker.pid, bot.pid)
        reset_peak_rss(worker.pid)
        reset_peak_rss(bot.pid)
        cpu = [cpu_seconds(pid) for pid in pids]
        channel = f"CBENCH{n}"
        started = time.monotonic()
        status = await bot.command(text or f"1-{n}", channel)
        assert status == 200, status
        run_id = await bot.run_id_in(channel)
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        if with_acks:
            while (await handle.query(ParentWorkflow.progress)).finished == 0:
                await asyncio.sleep(0.05)
            acks = await burst(bot, 20)
            out.acks_ms = [a["ms"] for a in acks]
            out.ack_statuses = [a["status"] for a in acks]
        await bot.summary_in(channel)
        out.summary_s = time.monotonic() - started
        content = await bot.file_in(channel, f"{run_id}.csv")
        out.csv_s = time.monotonic() - started
        spent = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu, strict=True)]
        out.server_cores, out.worker_cores, out.bot_cores = (s / out.csv_s for s in spent)
        out.worker_mb, out.bot_mb = peak_rss_mb(worker.pid), peak_rss_mb(bot.pid)
        out.csv_mb = len(content) / 2**20
        rows = content.count(b"\n") - 1
        assert rows == n, (rows, n)
        del content
        bot.fake.drop_file_contents()
        if with_acks:  # the burst's own runs post into the fake Slack too: let them finish
            await bot.summaries_in(BURST_CHANNEL, len(out.acks_ms))
        result: FanoutResult = await handle.result()
        out.mode, out.workflow_s, out.children = mode_of(result), result.wall_s, result.child_workflow_count
        out.children += result.shard_count
        out.csv_build_s = await csv_build_s(client, run_id, result, n)
        out.root_history = await history_stats(client, run_id)
        out.shard_history = await history_stats(client, f"{run_id}-s0") if result.shard_count else out.root_history
        return out
    finally:
        if bot is not None:
            await bot.stop()
        stack.stop()


async def warm_up(bot: BotHarness) -> None:
    """A small run through the bot first: its first reporter, its first upload, the worker's imports."""
    channel = f"CWARM{uuid.uuid4().hex[:6].upper()}"
    assert await bot.command("1-1500", channel) == 200
    run_id = await bot.run_id_in(channel)
    await bot.file_in(channel, f"{run_id}.csv")
    bot.fake.drop_file_contents()


async def csv_build_s(client: Client, run_id: str, result: FanoutResult, n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        assert await write_csv(value_rows(client, run_id, result), os.path.join(tmp, "rows.csv")) == n
        return time.monotonic() - started
