"""Reporting as Temporal work, end to end: signed commands -> the real bot (Bolt app and its workers, in this
process) -> the real dev server -> a fake Slack of each test's own that answers like Slack: 429s with
Retry-After, ``ok: false`` errors, answers lost after Slack acted, a revoked token.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from bot.operations.start import Invocation, run_id_for
from bot.reporting.payloads import ReportOutcome
from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from tests.conftest import SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests


@pytest.fixture
async def reporting(task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue), fake, temporal_address) as bot:
        yield bot


def channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


async def send(bot: BotUnderTest, text: str, where: str, user: str = "U1") -> str:
    """Send the command; returns the id of the run it starts (derived from its trigger, as the bot does)."""
    trigger = f"trigger-{uuid.uuid4().hex}"
    body = slash_command_body(text, user_id=user, channel_id=where, response_url=bot.fake.response_url(),
                              trigger_id=trigger)
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and answer == "" and elapsed < 3.0, answer
    return run_id_for(Invocation(user, where, text, trigger_id=trigger, team_id="T1"))


def tagged(fake: FakeSlack, where: str, event_type: str, run_id: str) -> list[PostedMessage]:
    return [m for m in fake.messages(where) if (m.metadata or {}).get("event_type") == event_type
            and m.metadata["event_payload"]["workflow_id"] == run_id]  # type: ignore[index]


async def outcome(client: Client, run_id: str, timeout: float = 60) -> ReportOutcome:
    """The reporter's outcome, once it has started and finished."""
    handle = client.get_workflow_handle(f"{run_id}-slack", result_type=ReportOutcome)
    for _ in range(100):
        try:
            await handle.describe()
            break
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.05)
    return await asyncio.wait_for(handle.result(), timeout)


def calls_about(fake: FakeSlack, where: str) -> list[Any]:
    return [c for c in fake.attempts if c.params.get("channel") == where or c.params.get("channel_id") == where]


async def test_a_channel_the_bot_is_not_in_gets_one_direct_message_and_nothing_else(
        reporting: BotUnderTest, client: Client) -> None:
    fake, where = reporting.fake, channel()
    fake.kick(where)
    run_id = await send(reporting, "1-3 --delay 1", where)
    done = await outcome(client, run_id)
    assert done.stopped == "not_in_channel" and done.message_ts == "" and done.summary_ts == ""
    assert (done.status, done.success_count, done.failure_count) == ("completed", 2, 1)  # the run itself went on
    [dm] = fake.dms("U1")
    assert "not_in_channel" in dm.text and "/invite @fanout" in dm.text and run_id in dm.text
    # One attempt at the run message, then silence: no retries, no edits, no summary, no files.
    assert [c.method for c in calls_about(fake, where)] == ["chat.postMessage"]
    assert not fake.calls_to("files.getUploadURLExternal")


async def test_a_channel_archived_while_the_run_goes_is_left_alone_after_one_direct_message(
        reporting: BotUnderTest, client: Client) -> None:
    fake, where = reporting.fake, channel()
    run_id = await send(reporting, "1-4 --delay 2", where)
    await fake.wait_for(lambda: tagged(fake, where, "fanout_started", run_id), timeout=15)
    fake.archive(where)
    done = await outcome(client, run_id)
    assert done.stopped == "is_archived" and done.summary_ts == ""
    assert len(fake.dms("U1")) == 1, fake.dump()
    [dm] = fake.dms("U1")
    assert "is_archived" in dm.text
    attempts = len(calls_about(fake, where))
    await asyncio.sleep(1.5)  # nothing retries
    assert len(calls_about(fake, where)) == attempts
    assert not [c for c in fake.attempts if c.method.startswith("files.")]


async def test_a_deleted_run_message_ends_the_edits_not_the_summary(reporting: BotUnderTest, client: Client) -> None:
    fake, where = reporting.fake, channel()
    run_id = await send(reporting, "1-3 --delay 3 --fail none", where)
    await fake.wait_for(lambda: tagged(fake, where, "fanout_started", run_id), timeout=15)
    [message] = tagged(fake, where, "fanout_started", run_id)
    fake.delete_message(where, message.ts)
    done = await outcome(client, run_id)
    assert done.stopped == "" and done.summary_ts
    [summary] = [m for m in fake.thread(where, message.ts) if (m.metadata or {}).get("event_type") == "fanout_summary"]
    assert summary.metadata["event_payload"]["success_count"] == 3  # type: ignore[index]


async def test_rate_limited_posts_wait_their_retry_after_and_post_once_without_reading_slack(
        reporting: BotUnderTest, client: Client) -> None:
    fake, where = reporting.fake, channel()
    fake.fail_next("chat.postMessage", status=429, retry_after=2, event_type="fanout_started")
    fake.fail_next("chat.postMessage", status=429, retry_after=2, event_type="fanout_summary")
    run_id = await send(reporting, "1 2 3", where)
    done = await outcome(client, run_id)
    assert done.summary_ts and len(tagged(fake, where, "fanout_started", run_id)) == 1
    assert len([m for m in fake.thread(where, done.message_ts)
                if (m.metadata or {}).get("event_type") == "fanout_summary"]) == 1
    refused = [c for c in fake.failed_calls if c.method == "chat.postMessage" and c.params.get("channel") == where]
    posted = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == where]
    assert len(refused) == 2 and len(posted) == 2
    for no, yes in zip(refused, posted, strict=True):
        assert yes.at - no.at >= 1.9  # Retry-After was honoured, by Temporal's retry (no worker slot held)
    # A 429 proves nothing was posted: no read of the channel or the thread to check.
    assert not [c for c in calls_about(fake, where) if c.method.startswith("conversations.")]


@pytest.mark.parametrize("event_type", ["fanout_started", "fanout_summary"])
async def test_a_post_whose_answer_was_lost_is_found_in_slack_not_posted_again(
        reporting: BotUnderTest, client: Client, event_type: str) -> None:
    # Slack posts the message, but its answer never arrives (a 503 from a proxy, a dropped connection): the
    # activity is retried without knowing. It reads the channel (run message) or the thread (summary) first.
    fake, where = reporting.fake, channel()
    fake.fail_next("chat.postMessage", status=503, event_type=event_type, after_acting=True)
    run_id = await send(reporting, "1 2 3 4", where)
    done = await outcome(client, run_id)
    assert len(tagged(fake, where, "fanout_started", run_id)) == 1
    summaries = [m for m in fake.thread(where, done.message_ts)
                 if (m.metadata or {}).get("event_type") == "fanout_summary"]
    assert len(summaries) == 1 and done.summary_ts == summaries[0].ts
    reads = [c.method for c in calls_about(fake, where) if c.method.startswith("conversations.")]
    assert reads == ["conversations.history" if event_type == "fanout_started" else "conversations.replies"]


async def test_a_server_error_before_slack_acted_is_posted_on_the_retry(reporting: BotUnderTest,
                                                                        client: Client) -> None:
    fake, where = reporting.fake, channel()
    fake.fail_next("chat.postMessage", status=503, event_type="fanout_summary")
    run_id = await send(reporting, "1 2", where)
    done = await outcome(client, run_id)
    summaries = [m for m in fake.thread(where, done.message_ts)
                 if (m.metadata or {}).get("event_type") == "fanout_summary"]
    assert len(summaries) == 1  # looked for (an unknown outcome), not found, posted


async def test_a_revoked_token_turns_health_red_and_reporting_waits_for_a_valid_one(
        reporting: BotUnderTest, client: Client) -> None:
    fake, where = reporting.fake, channel()
    run_id = await send(reporting, "1-3 --delay 2 --fail none", where)
    await fake.wait_for(lambda: tagged(fake, where, "fanout_started", run_id), timeout=15)
    fake.revoke_token()
    health = reporting.bot.workers.health  # type: ignore[attr-defined]
    deadline = asyncio.get_running_loop().time() + 20
    while health.auth_error != "token_revoked":
        assert asyncio.get_running_loop().time() < deadline, "the bot never noticed the revoked token"
        await asyncio.sleep(0.1)
    run = await client.get_workflow_handle(run_id).describe()
    reporter = client.get_workflow_handle(f"{run_id}-slack")
    await asyncio.sleep(1)
    assert run.status == WorkflowExecutionStatus.RUNNING or (await reporter.describe()).status == \
        WorkflowExecutionStatus.RUNNING  # nothing ended for it
    fake.restore_token()
    done = await outcome(client, run_id, timeout=70)
    assert done.stopped == "" and done.summary_ts and not health.auth_error
