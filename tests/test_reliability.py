"""Reliability with real processes: kills (SIGKILL), restarts, replicas, outages, duplicates."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from bot.devslack import FakeSlack
from bot.slack_requests import post_signed, slash_command_body
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, BotUnderTest
from tests.processes import free_port, start_bot, start_worker
from workflows.model import FanoutRequest, ValueRange
from workflows.parent import ParentWorkflow


def run_messages(fake: FakeSlack, channel: str) -> list:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(fake: FakeSlack, channel: str) -> list:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def send(url: str, fake: FakeSlack, text: str, channel: str, trigger_id: str | None = None) -> int:
    body = slash_command_body(text, channel_id=channel, response_url=fake.response_url(channel),
                              trigger_id=trigger_id or f"t-{uuid.uuid4().hex}")
    status, _, elapsed = await post_signed(url, body, SIGNING_SECRET)
    assert elapsed < 3.0
    return status


def channel_name() -> str:
    return f"C-{uuid.uuid4().hex[:8]}"


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
    channel = channel_name()
    bot = await start_bot("bot-a", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    assert await send(bot.url, fake_slack, "1-4 --delay 3", channel) == 200
    await fake_slack.wait_for(lambda: run_messages(fake_slack, channel), timeout=15)
    bot.kill()
    restarted = await start_bot("bot-b", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    try:
        await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
        await asyncio.sleep(3)  # several recovery scans later: still one
        [summary] = summaries(fake_slack, channel)
        [run] = run_messages(fake_slack, channel)
        assert summary.thread_ts == run.ts
        assert summary.metadata["event_payload"]["success_count"] == 2
    finally:
        assert await restarted.stop() == 0


async def test_bot_killed_while_uploading_the_files_leaves_them_to_the_next_bot(
        fake_slack: FakeSlack, task_queue: str, temporal_address: str, tmp_path: Path):
    # The bot posts the summary and the timeline, then Slack makes the CSV's upload wait (429,
    # Retry-After 60 s); the bot is killed meanwhile. Its claim lapses (no renewals); the restarted bot
    # finds the summary and the timeline in the thread and uploads only the CSV.
    channel = channel_name()
    bot = await start_bot("files-a", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    fake_slack.fail_next("files.getUploadURLExternal", status=429, retry_after=60,
                         match=lambda p: str(p.get("filename", "")).endswith(".csv"))
    assert await send(bot.url, fake_slack, "1-60", channel) == 200  # > 50 values: a CSV too
    await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
    [run] = run_messages(fake_slack, channel)
    run_id = run.metadata["event_payload"]["workflow_id"]
    await fake_slack.wait_for(lambda: any(c.method == "files.getUploadURLExternal" and run_id in str(c.params)
                                          for c in fake_slack.failed_calls), timeout=15)
    bot.kill()
    assert [f["filename"] for f in fake_slack.files if f["thread_ts"] == run.ts] == [f"{run_id}-timeline.png"]
    restarted = await start_bot("files-b", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    try:
        await fake_slack.wait_for(lambda: any(f["filename"] == f"{run_id}.csv" and f["thread_ts"] == run.ts
                                              for f in fake_slack.files), timeout=40)
        await asyncio.sleep(3)  # several recovery scans later: nothing twice
        names = sorted(f["filename"] for f in fake_slack.files if f["thread_ts"] == run.ts)
        assert names == [f"{run_id}-timeline.png", f"{run_id}.csv"]
        assert len(summaries(fake_slack, channel)) == 1 and len(run_messages(fake_slack, channel)) == 1
    finally:
        assert await restarted.stop() == 0


async def test_run_finished_while_bot_down_is_reported_once_never_twice(fake_slack: FakeSlack, task_queue: str,
                                                                        client: Client, temporal_address: str,
                                                                        tmp_path: Path):
    channel = channel_name()
    bot = await start_bot("bot-a", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    assert await send(bot.url, fake_slack, "1 2 3 --delay 1", channel) == 200
    await fake_slack.wait_for(lambda: run_messages(fake_slack, channel), timeout=15)
    workflow_id = run_messages(fake_slack, channel)[0].metadata["event_payload"]["workflow_id"]
    bot.kill()
    await client.get_workflow_handle(workflow_id).result()  # finishes while no bot runs
    assert not summaries(fake_slack, channel)
    second = await start_bot("bot-b", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=30)
    assert await second.stop() == 0  # SIGTERM: a clean exit
    third = await start_bot("bot-c", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    try:
        await asyncio.sleep(4)  # its recovery scans see the run as reported
        assert len(summaries(fake_slack, channel)) == 1
    finally:
        assert await third.stop() == 0


async def test_two_replicas_one_message_and_one_summary_either_may_die(fake_slack: FakeSlack, task_queue: str,
                                                                      temporal_address: str, tmp_path: Path):
    a = await start_bot("replica-a", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    b = await start_bot("replica-b", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    try:
        both_alive, a_dies = channel_name(), channel_name()
        assert await send(a.url, fake_slack, "1-4 --delay 2", both_alive) == 200
        assert await send(b.url, fake_slack, "1-6 --delay 3", a_dies) == 200
        await fake_slack.wait_for(lambda: run_messages(fake_slack, a_dies), timeout=15)
        b.kill()  # the replica that took the command dies; the other one reports
        await fake_slack.wait_for(lambda: summaries(fake_slack, both_alive) and summaries(fake_slack, a_dies),
                                  timeout=40)
        await asyncio.sleep(3)
        for channel, total in ((both_alive, 4), (a_dies, 6)):
            assert len(run_messages(fake_slack, channel)) == 1
            [summary] = summaries(fake_slack, channel)
            assert summary.metadata["event_payload"]["total_children"] == total
    finally:
        b.kill()
        assert await a.stop() == 0


async def test_a_run_message_slower_than_the_takeover_grace_is_still_posted_once(
        fake_slack: FakeSlack, task_queue: str, temporal_address: str, tmp_path: Path):
    # Slack holds the run message back (429, Retry-After 8 s) longer than a replica waits before it
    # takes over a run whose message was never recorded (5 s here). The starting bot holds the run's
    # "announce" claim while it posts, so the replica waits instead of posting a second message.
    channel = channel_name()
    a = await start_bot("slow-a", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    b = await start_bot("slow-b", temporal_address, task_queue, fake_slack.base_url, tmp_path)
    try:
        fake_slack.fail_next("chat.postMessage", status=429, retry_after=8, event_type="fanout_started")
        sent_at = time.monotonic()
        assert await send(a.url, fake_slack, "1-3 --delay 1", channel) == 200
        await fake_slack.wait_for(lambda: summaries(fake_slack, channel), timeout=40)
        await asyncio.sleep(max(3.0, sent_at + 11 - time.monotonic()))  # past the retried post (8 s + jitter)
        [run] = run_messages(fake_slack, channel)
        [summary] = summaries(fake_slack, channel)
        assert summary.thread_ts == run.ts
    finally:
        assert await b.stop() == 0
        assert await a.stop() == 0


async def test_bot_starts_while_temporal_is_down_and_connects_when_it_can(fake_slack: FakeSlack, tmp_path: Path):
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker

    from bot import search_attributes
    from tests.conftest import temporal_cli
    from worker import WORKFLOW_RUNNER, WORKFLOWS

    port = free_port()
    address = f"127.0.0.1:{port}"
    channel = channel_name()
    bot = await start_bot("bot-early", address, "early-queue", fake_slack.base_url, tmp_path)
    try:
        before = len(fake_slack.responses)
        assert await send(bot.url, fake_slack, "1 2", channel) == 200
        await fake_slack.wait_for(lambda: len(fake_slack.responses) > before, timeout=3.0)
        assert "unreachable" in str(fake_slack.responses[-1]).lower()
        env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli(), port=port, ui=False,
                                                    dev_server_log_level="error",
                                                    search_attributes=list(search_attributes.ALL))
        try:
            async with Worker(env.client, task_queue="early-queue",
                              workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER):
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
    failed_before = len(bot.fake.failed_calls)
    # The first attempt at the run message, and at the summary, fail.
    bot.fake.fail_next("chat.postMessage", status=status, retry_after=1, event_type="fanout_started")
    bot.fake.fail_next("chat.postMessage", status=status, retry_after=1, event_type="fanout_summary")
    assert await send(bot.url, bot.fake, "1 2 3 --delay 1", channel) == 200
    await bot.fake.wait_for(lambda: summaries(bot.fake, channel), timeout=30)
    await asyncio.sleep(1.5)
    assert len(bot.fake.failed_calls) - failed_before == 2
    assert len(run_messages(bot.fake, channel)) == 1 and len(summaries(bot.fake, channel)) == 1


async def test_secrets_never_appear_in_logs_or_messages(fake_slack: FakeSlack, task_queue: str,
                                                        temporal_address: str, tmp_path: Path):
    channel = channel_name()
    bot = await start_bot("bot-debug", temporal_address, task_queue, fake_slack.base_url, tmp_path,
                          LOG_LEVEL="DEBUG")
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
