"""Reliability with real processes: kills (SIGKILL), restarts, replicas, outages, duplicates.

The bots are ``python -m bot`` processes, the worker ``python worker.py``; replicas of one bot share a
FANOUT_ENV, so they poll the same task queues and any of them may take any task.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, BotUnderTest
from tests.entrypoints import dev_server_ports, start_dev_server
from tests.processes import start_bot, start_worker
from workflows.model import FanoutRequest, ValueRange
from workflows.parent import ParentWorkflow


def run_messages(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def send(url: str, fake: FakeSlack, text: str, channel: str, trigger_id: str | None = None) -> int:
    body = slash_command_body(text, channel_id=channel, response_url=fake.response_url(channel),
                              trigger_id=trigger_id or f"t-{uuid.uuid4().hex}")
    status, _, elapsed = await post_signed(url, body, SIGNING_SECRET)
    assert elapsed < 3.0
    return status


def channel_name() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


def environment() -> str:
    return f"rel-{uuid.uuid4().hex[:6]}"


async def test_worker_killed_mid_run_finishes_with_correct_counts(client: Client, temporal_address: str,
                                                                  tmp_path: Path):
    queue = f"rel-worker-{uuid.uuid4().hex[:6]}"
    worker = await start_worker(temporal_address, queue, tmp_path, "worker-1")
    request = FanoutRequest([ValueRange(1, 8)], delay_min_s=2, delay_max_s=2)
    handle = await client.start_workflow(ParentWorkflow.run, request, id=f"rel-{uuid.uuid4().hex[:8]}",
                                         task_queue=queue)
    for _ in range(100):
        progress = await handle.query(ParentWorkflow.progress)
        if progress.running == 8:
            break
        await asyncio.sleep(0.1)
    worker.kill()
    await asyncio.sleep(2.5)  # the children's timers fire while no worker runs
    worker2 = await start_worker(temporal_address, queue, tmp_path, "worker-2")
    try:
        result = await asyncio.wait_for(handle.result(), 60)
        assert (result.total_children, result.success_count, result.failure_count) == (8, 4, 4)
        assert sorted(f.value for f in result.failed_children) == [2, 4, 6, 8]
    finally:
        assert await worker2.stop() == 0


async def test_bot_killed_mid_run_restarted_posts_exactly_one_summary(fake_slack: FakeSlack, task_queue: str,
                                                                      temporal_address: str, tmp_path: Path):
    channel, env = channel_name(), environment()
    bot = await start_bot("bot-a", temporal_address, task_queue, fake_slack.base_url, tmp_path, environment=env)
    assert await send(bot.url, fake_slack, "1-4 --delay 3", channel) == 200
    await fake_slack.wait_for(lambda: run_messages(fake_slack, channel), timeout=15)
    bot.kill()
    restarted = await start_bot("bot-b", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                                environment=env)
    try:
        await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
        await asyncio.sleep(2)
        [summary] = summaries(fake_slack, channel)
        [run] = run_messages(fake_slack, channel)
        assert summary.thread_ts == run.ts
        assert summary.metadata["event_payload"]["success_count"] == 2  # type: ignore[index]
    finally:
        assert await restarted.stop() == 0


async def test_runs_that_finish_while_every_bot_is_down_are_reported_once_within_seconds(
        fake_slack: FakeSlack, task_queue: str, client: Client, temporal_address: str, tmp_path: Path):
    # Ten runs; the bot goes down; they all finish; it comes back (a deploy, a crash).
    channels, env = [channel_name() for _ in range(10)], environment()
    bot = await start_bot("down-a", temporal_address, task_queue, fake_slack.base_url, tmp_path, environment=env)
    for i, channel in enumerate(channels):
        assert await send(bot.url, fake_slack, f"1-3 --delay {2 + i % 3}", channel) == 200
    await fake_slack.wait_for(lambda: all(run_messages(fake_slack, c) for c in channels), timeout=20)
    bot.kill()
    ids = [run_messages(fake_slack, c)[0].metadata["event_payload"]["workflow_id"] for c in channels]  # type: ignore[index]
    for workflow_id in ids:  # every run finishes while no bot runs
        await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 30)
    assert not any(summaries(fake_slack, c) for c in channels)
    back_at = time.monotonic()
    second = await start_bot("down-b", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                             environment=env)
    try:
        await fake_slack.wait_for(lambda: all(summaries(fake_slack, c) for c in channels), timeout=30)
        waited = time.monotonic() - back_at
        assert waited < 10 + 5, waited  # the bot's start-up (~5 s) plus well under 10 s to report
        await asyncio.sleep(2)
        assert all(len(summaries(fake_slack, c)) == 1 for c in channels)
    finally:
        assert await second.stop() == 0  # SIGTERM: a clean exit


async def test_two_replicas_one_message_and_one_summary_either_may_die(fake_slack: FakeSlack, task_queue: str,
                                                                      temporal_address: str, tmp_path: Path):
    env = environment()
    a = await start_bot("replica-a", temporal_address, task_queue, fake_slack.base_url, tmp_path, environment=env)
    b = await start_bot("replica-b", temporal_address, task_queue, fake_slack.base_url, tmp_path, environment=env)
    try:
        both_alive, b_dies = channel_name(), channel_name()
        assert await send(a.url, fake_slack, "1-4 --delay 2", both_alive) == 200
        assert await send(b.url, fake_slack, "1-6 --delay 3", b_dies) == 200
        await fake_slack.wait_for(lambda: run_messages(fake_slack, b_dies), timeout=15)
        b.kill()  # the replica that took the command dies; the other one goes on with the run's tasks
        await fake_slack.wait_for(lambda: summaries(fake_slack, both_alive) and summaries(fake_slack, b_dies),
                                  timeout=40)
        await asyncio.sleep(2)
        for channel, total in ((both_alive, 4), (b_dies, 6)):
            assert len(run_messages(fake_slack, channel)) == 1
            [summary] = summaries(fake_slack, channel)
            assert summary.metadata["event_payload"]["total_children"] == total  # type: ignore[index]
    finally:
        b.kill()
        assert await a.stop() == 0


async def test_a_bot_killed_after_slack_posted_but_before_temporal_heard_posts_nothing_twice(
        fake_slack: FakeSlack, task_queue: str, client: Client, temporal_address: str, tmp_path: Path):
    # Slack posts the summary but holds its answer; the bot is killed meanwhile, so Temporal never learns
    # the outcome. The activity times out (start-to-close, 15 s) and is retried by the restarted bot, which
    # finds the summary in the thread (by its metadata) instead of posting it again.
    channel, env = channel_name(), environment()
    bot = await start_bot("ambiguous-a", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                          environment=env)
    fake_slack.stall_next("chat.postMessage", 30, event_type="fanout_summary")
    assert await send(bot.url, fake_slack, "1 2 3", channel) == 200
    await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=20)
    bot.kill()
    restarted = await start_bot("ambiguous-b", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                                environment=env)
    try:
        [run] = run_messages(fake_slack, channel)
        run_id = run.metadata["event_payload"]["workflow_id"]  # type: ignore[index]
        await asyncio.wait_for(client.get_workflow_handle(f"{run_id}-slack").result(), 45)
        assert len(summaries(fake_slack, channel)) == 1
        reads = [c for c in fake_slack.calls_to("conversations.replies") if c.params.get("channel") == channel]
        assert len(reads) == 1  # read once, for the one post whose outcome was unknown
    finally:
        assert await restarted.stop() == 0


async def test_bot_starts_while_temporal_is_down_and_connects_when_it_can(fake_slack: FakeSlack, tmp_path: Path):
    from temporalio.worker import Worker

    from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS

    ports = dev_server_ports()
    channel = channel_name()
    bot = await start_bot("bot-early", ports.address, "early-queue", fake_slack.base_url, tmp_path,
                          environment=environment(), wait_workers=False)
    try:
        before = len(fake_slack.responses)
        assert await send(bot.url, fake_slack, "1 2", channel) == 200
        await fake_slack.wait_for(lambda: len(fake_slack.responses) > before, timeout=3.0)
        assert "unreachable" in str(fake_slack.responses[-1]).lower()
        env = await start_dev_server(ports)
        try:
            async with Worker(env.client, task_queue="early-queue",
                              workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER):
                await bot.wait_for_output("bot workers on ", timeout_s=30)
                assert await send(bot.url, fake_slack, "1 2", channel) == 200
                await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
        finally:
            await env.shutdown()
    finally:
        assert await bot.stop() == 0
    assert BOT_TOKEN not in bot.output() and SIGNING_SECRET not in bot.output()


async def test_same_command_delivered_twice_starts_one_run(bot: BotUnderTest):
    channel = channel_name()
    trigger = f"dup-{uuid.uuid4().hex}"
    first, second = await asyncio.gather(
        send(bot.url, bot.fake, "1 2 3", channel, trigger_id=trigger),
        send(bot.url, bot.fake, "1 2 3", channel, trigger_id=trigger),
    )
    assert first == second == 200
    await bot.fake.wait_for(lambda: summaries(bot.fake, channel), timeout=30)
    await asyncio.sleep(1)
    assert len(run_messages(bot.fake, channel)) == 1 and len(summaries(bot.fake, channel)) == 1


@pytest.mark.parametrize("status", [429, 503])
async def test_slack_rate_limits_and_errors_are_retried_and_nothing_posts_twice(bot: BotUnderTest, status: int):
    channel = channel_name()
    # The first attempt at the run message, and at the summary, fail.
    bot.fake.fail_next("chat.postMessage", status=status, retry_after=1, event_type="fanout_started")
    bot.fake.fail_next("chat.postMessage", status=status, retry_after=1, event_type="fanout_summary")
    assert await send(bot.url, bot.fake, "1 2 3 --delay 1", channel) == 200
    await bot.fake.wait_for(lambda: summaries(bot.fake, channel), timeout=30)
    await asyncio.sleep(1.5)
    refused = [c for c in bot.fake.failed_calls if c.params.get("channel") == channel]
    assert len(refused) == 2
    assert len(run_messages(bot.fake, channel)) == 1 and len(summaries(bot.fake, channel)) == 1


async def test_secrets_never_appear_in_logs_or_messages(fake_slack: FakeSlack, task_queue: str,
                                                        temporal_address: str, tmp_path: Path):
    channel = channel_name()
    bot = await start_bot("bot-debug", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                          environment=environment(), LOG_LEVEL="DEBUG")
    try:
        assert await send(bot.url, fake_slack, "1 2 3", channel) == 200
        await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
    finally:
        assert await bot.stop() == 0
    output = bot.output()
    assert "DEBUG" in output  # the most talkative level, Slack SDK request logs included
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output
    posted = " ".join(str(call.params) for call in fake_slack.calls)
    assert BOT_TOKEN not in posted and SIGNING_SECRET not in posted
