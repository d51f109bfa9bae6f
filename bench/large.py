"""Large runs end to end through the real bot: a signed slash command -> the run's summary in its thread
-> the CSV of every value in the thread. Each size on a fresh dev server of its own, with one
``python worker.py`` and the bot as its own process (bench.bot_harness), the fake Slack in this process.

Also measured: the CSV build alone (bot.runs.results.value_rows into a temporary file, in this process, after
the run: a batch at a time as the reporter writes it, and one row at a time through csv.writer as before),
peak RSS of the worker and of the bot process during the run, the root's and the largest shard's history,
and — for the sizes in ``acks`` — the ack latency of 20 signed slash commands sent at once from another
process (bench.burst) during a second run of the same size, after the timed one: the burst's own 20 runs
never share the machine with the run being timed.
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
from bench.csv import one_at_a_time
from bench.infra import RESULTS, Stack, cpu_seconds, peak_rss_mb, reset_peak_rss, wait_for_poller
from bot.files.csv_file import write_csv
from bot.runs.results import value_rows
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
    csv_build_s: float = 0.0  # write_csv from ValueRows.batches(), what the reporter does
    csv_rows_s: float = 0.0  # the same rows one at a time through csv.writer (the writer before)
    csv_mb: float = 0.0
    worker_mb: float = 0.0  # peak RSS during command -> CSV
    bot_mb: float = 0.0
    worker_start_mb: float = 0.0  # RSS at the command (after the warm-up)
    bot_start_mb: float = 0.0
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
        out.worker_start_mb, out.bot_start_mb = peak_rss_mb(worker.pid, "VmRSS"), peak_rss_mb(bot.pid, "VmRSS")
        cpu = [cpu_seconds(pid) for pid in pids]
        channel = f"CBENCH{n}"
        started = time.monotonic()
        status = await bot.command(text or f"1-{n}", channel)
        assert status == 200, status
        run_id = await bot.run_id_in(channel)
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
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
        result: FanoutResult = await handle.result()
        out.mode, out.workflow_s, out.children = mode_of(result), result.wall_s, result.child_workflow_count
        out.children += result.shard_count
        out.csv_build_s, out.csv_rows_s = await csv_build_s(client, run_id, result, n)
        out.root_history = await history_stats(client, run_id)
        out.shard_history = await history_stats(client, f"{run_id}-s0") if result.shard_count else out.root_history
        if with_acks:
            out.acks_ms, out.ack_statuses = await acks_during_run(bot, client, text or f"1-{n}", f"CACKS{n}")
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


async def acks_during_run(bot: BotHarness, client: Client, text: str, channel: str) -> tuple[list[float], list[int]]:
    """20 commands at once while a second, untimed, run of the same size is going (once its first batches are
    done); then that run's CSV and the burst's 20 summaries, so nothing of it is left running."""
    assert await bot.command(text, channel) == 200
    run_id = await bot.run_id_in(channel)
    handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
    while (await handle.query(ParentWorkflow.progress)).finished == 0:
        await asyncio.sleep(0.05)
    acks = await burst(bot, 20)
    await bot.file_in(channel, f"{run_id}.csv")
    bot.fake.drop_file_contents()
    await bot.summaries_in(BURST_CHANNEL, len(acks))  # the burst's own runs post into the fake Slack too
    return [a["ms"] for a in acks], [a["status"] for a in acks]


async def csv_build_s(client: Client, run_id: str, result: FanoutResult, n: int) -> tuple[float, float]:
    """Seconds to write the run's CSV from Temporal: a batch at a time (write_csv from ValueRows, what the
    reporter does), and one row at a time through csv.writer (the writer before)."""
    with tempfile.TemporaryDirectory() as tmp:
        started = time.monotonic()
        assert await write_csv(value_rows(client, run_id, result), os.path.join(tmp, "batched.csv")) == n
        batched = time.monotonic() - started
        started = time.monotonic()
        assert await write_csv(one_at_a_time(value_rows(client, run_id, result)), os.path.join(tmp, "rows.csv")) == n
        return batched, time.monotonic() - started
