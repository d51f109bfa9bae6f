"""Runs that wait on time or on people, end to end through the real Bolt app (signed requests and events):
schedules (made, listed, fired, paused, resumed, deleted; from their channel only; cron with a time zone; a
channel that cannot be posted in pauses them), approvals (approved, rejected, expired, withdrawn, by whom a
setting allows; after a bot restart and while worker.py is down: real processes), and the Workflow Builder
step (completed with its outputs, failed on bad input, completed after a restart with the bot's token)."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    ScheduleSpec,
)
from temporalio.service import RPCError, RPCStatusCode

from bot.operations.approvals import DECIDE_BUDGET_S
from bot.reporting.reporter import CALL
from bot.runs.info import reporter_id
from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from runtime import search_attributes as sa
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests
from tests.processes import start_bot, start_worker
from tests.slack_asks import click, command, new_channel, run_step, send, text_of

SCHEDULE_ID = re.compile(r"fanout-sch-[0-9a-f]{10}")


@pytest.fixture
async def bot(task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue, admin_users=frozenset({"UADMIN"})), fake,
                      temporal_address) as under_test:
        yield under_test


def run_messages(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


def run_id_in(message: PostedMessage) -> str:
    return str(message.metadata["event_payload"]["workflow_id"])  # type: ignore[index]


def action_ids(message: PostedMessage) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def message_text(message: PostedMessage) -> str:
    return str(message.blocks)


async def first_run_message(fake: FakeSlack, channel: str, timeout: float = 15) -> PostedMessage:
    await fake.wait_for(lambda: run_messages(fake, channel), timeout=timeout)
    return run_messages(fake, channel)[0]


async def summary_of(fake: FakeSlack, channel: str, timeout: float = 30) -> PostedMessage:
    await fake.wait_for(lambda: summaries(fake, channel), timeout=timeout)
    [summary] = summaries(fake, channel)
    return summary


async def never_started(client: Client, run_id: str) -> bool:
    try:
        await client.get_workflow_handle(run_id).describe()
    except RPCError as err:
        return err.status == RPCStatusCode.NOT_FOUND
    return False


async def reporter_state(client: Client, run_id: str) -> tuple[str, dict[str, Any]]:
    desc = await client.get_workflow_handle(reporter_id(run_id)).describe()
    return desc.typed_search_attributes.get(sa.STATUS) or "", await desc.memo()


async def wait_status(client: Client, run_id: str, status: str, timeout: float = 30) -> dict[str, Any]:
    for _ in range(int(timeout * 10)):
        current, memo = await reporter_state(client, run_id)
        if current == status:
            return memo
        await asyncio.sleep(0.1)
    raise AssertionError(f"{run_id} is {current}, not {status}")


# -- schedules --------------------------------------------------------------------------------------------------


async def make_schedule(bot: BotUnderTest, text: str, channel: str, user: str = "U1") -> str:
    answer = text_of(await command(bot, f"schedule {text}", channel, user))
    found = SCHEDULE_ID.search(answer)
    assert found, answer
    return found.group(0)


async def test_a_schedule_is_made_listed_fired_and_managed_from_its_channel(bot: BotUnderTest, client: Client):
    fake, channel = bot.fake, new_channel()
    sid = await make_schedule(bot, "every 1h 1-4 --fail even", channel)
    listed = text_of(await command(bot, "schedules", channel))
    assert sid in listed and "every 1h" in listed and "not fired yet" in listed and "next <!date^" in listed
    described = await client.get_schedule_handle(sid).describe()
    assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
    assert described.schedule.spec.intervals[0].every == timedelta(hours=1)
    action = described.schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow) and action.workflow == "ReporterWorkflow"
    assert action.typed_search_attributes is not None
    attrs = action.typed_search_attributes  # every firing carries them
    assert (attrs.get(sa.TEAM), attrs.get(sa.CHANNEL), attrs.get(sa.USER), attrs.get(sa.SCHEDULE)) == (
        "T1", channel, "U1", sid)

    assert "fired now" in text_of(await command(bot, f"trigger {sid}", channel))
    message = await first_run_message(fake, channel)
    run_id = run_id_in(message)
    assert run_id.startswith(sid) and f"fired by schedule `{sid}`" in message_text(message)
    summary = await summary_of(fake, channel)
    assert summary.thread_ts == message.ts and summary.metadata["event_payload"]["success_count"] == 2  # type: ignore[index]
    status, memo = await reporter_state(client, run_id)
    assert memo["schedule_id"] == sid and memo["slack_channel"] == channel and memo["slack_user"] == "U1"
    assert status == "completed"
    assert f"last `{run_id}`" in text_of(await command(bot, "schedules", channel))
    assert "Run " in text_of(await command(bot, f"status {run_id}", channel))  # an ordinary run of the channel

    # Its channel's rules: another channel does not see it; another user may not touch it; an admin may.
    elsewhere = new_channel()
    assert "No schedule" in text_of(await command(bot, f"pause {sid}", elsewhere))
    assert sid not in text_of(await command(bot, "schedules", elsewhere))
    assert "Only <@U1>" in text_of(await command(bot, f"delete {sid}", channel, user="U2"))
    assert "paused" in text_of(await command(bot, f"pause {sid}", channel, user="UADMIN"))
    assert (await client.get_schedule_handle(sid).describe()).schedule.state.paused
    assert "⏸ paused" in text_of(await command(bot, "schedules", channel))
    assert "resumed" in text_of(await command(bot, f"resume {sid}", channel))
    assert not (await client.get_schedule_handle(sid).describe()).schedule.state.paused
    assert "deleted" in text_of(await command(bot, f"delete {sid}", channel))
    assert "No `/fanout` schedules" in text_of(await command(bot, "schedules", channel))
    with pytest.raises(RPCError):
        await client.get_schedule_handle(sid).describe()
    assert len(run_messages(fake, channel)) == 1  # and the run it made stays


async def test_a_cron_schedule_fires_in_its_time_zone_and_a_bad_spec_creates_nothing(bot: BotUnderTest,
                                                                                      client: Client):
    channel = new_channel()
    sid = await make_schedule(bot, '"30 9 * * MON-FRI" --tz Europe/Paris scenario all-success', channel)
    described = await client.get_schedule_handle(sid).describe()
    assert described.schedule.spec.time_zone_name == "Europe/Paris"
    upcoming = [t.astimezone(ZoneInfo("Europe/Paris")) for t in described.info.next_action_times]
    assert upcoming and all((t.hour, t.minute) == (9, 30) and t.weekday() < 5 for t in upcoming)
    utc = await make_schedule(bot, '"0 6 * * *" 1-2', channel)
    assert (await client.get_schedule_handle(utc).describe()).info.next_action_times[0].hour == 6

    for text, says in (("every 20s 1-3", "at least 1m"), ('"0 25 * * *" 1-3', "not a valid hour"),
                       ("every 1h", "needs something to run"), ("every 1h 1-3 --approve", "approval")):
        answer = text_of(await command(bot, f"schedule {text}", channel))
        assert says in answer, answer
        assert "approval" in says or "/fanout schedule every 1h 1-10" in answer  # an example to copy
    listed = text_of(await command(bot, "schedules", channel))
    assert listed.count("🗓") == 2  # the two good ones only


async def test_the_same_schedule_command_delivered_twice_makes_one_schedule(bot: BotUnderTest):
    channel, trigger = new_channel(), f"trigger-{uuid.uuid4().hex}"
    for _ in range(2):
        body = slash_command_body("schedule every 1d 1-2", channel_id=channel, response_url=bot.fake.response_url(),
                                  trigger_id=trigger)
        status, _, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
        assert status == 200 and elapsed < 3.0
    await asyncio.sleep(1)
    assert text_of(await command(bot, "schedules", channel)).count("🗓") == 1


async def test_schedules_the_bot_did_not_make_are_never_touched(bot: BotUnderTest, client: Client):
    foreign = "fanout-sch-f0f0f0f0f0"  # our prefix, but made by someone else, with no channel on it
    await client.create_schedule(foreign, Schedule(
        action=ScheduleActionStartWorkflow("Elsewhere", id="elsewhere", task_queue="elsewhere"),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(days=1))])))
    try:
        answer = text_of(await command(bot, f"delete {foreign}", new_channel(), user="UADMIN"))
        assert "No schedule" in answer
        assert not (await client.get_schedule_handle(foreign).describe()).schedule.state.paused
    finally:
        await client.get_schedule_handle(foreign).delete()


async def test_a_schedule_whose_channel_cannot_be_posted_in_pauses_with_one_message_to_its_owner(
        bot: BotUnderTest, client: Client):
    fake, channel = bot.fake, new_channel()
    sid = await make_schedule(bot, "every 1h 1-2", channel, user="UOWNER")
    fake.kick(channel)
    await command(bot, f"trigger {sid}", channel, user="UOWNER")
    handle = client.get_schedule_handle(sid)
    for _ in range(150):
        if (described := await handle.describe()).schedule.state.paused:
            break
        await asyncio.sleep(0.1)
    assert described.schedule.state.paused and "cannot be posted in" in (described.schedule.state.note or "")
    await fake.wait_for(lambda: fake.dms("UOWNER"), timeout=10)
    await asyncio.sleep(1)
    [dm] = fake.dms("UOWNER")
    assert sid in dm.text and f"/fanout resume {sid}" in dm.text and "not_in_channel" in dm.text
    assert not fake.messages(channel)
    await handle.delete()


# -- approvals --------------------------------------------------------------------------------------------------


async def test_an_approved_run_waits_for_someone_else_then_runs_and_says_who(bot: BotUnderTest, client: Client):
    fake, channel = bot.fake, new_channel()
    await send(bot, "1-4 --approve", channel)
    message = await first_run_message(fake, channel)
    run_id = run_id_in(message)
    assert action_ids(message)[:3] == ["fanout_approve", "fanout_reject", "fanout_cancel"]
    assert "Waiting for approval" in message_text(message) and "anyone in this channel but <@U1>" in message_text(
        message)
    await wait_status(client, run_id, "waiting")
    assert await never_started(client, run_id)  # nothing runs before the decision
    assert "Waiting for approval" in text_of(await command(bot, f"status {run_id}", channel))

    assert "someone else" in text_of(await click(bot, "fanout_approve", run_id, channel, user="U1"))
    assert "No run" in text_of(await click(bot, "fanout_approve", run_id, new_channel(), user="U2"))
    assert await never_started(client, run_id)
    assert "Approved" in text_of(await click(bot, "fanout_approve", run_id, channel, user="U2"))
    summary = await summary_of(fake, channel)
    assert "Approved by <@U2>" in str(summary.blocks) and summary.metadata["event_payload"]["success_count"] == 2  # type: ignore[index]
    await fake.wait_for(lambda: "Finished" in message_text(run_messages(fake, channel)[0]))
    final = run_messages(fake, channel)[0]
    assert "approved by <@U2>" in message_text(final) and "fanout_approve" not in action_ids(final)
    memo = await wait_status(client, run_id, "completed")
    assert memo["approved_by"] == "U2" and memo["decided_at"]
    assert "not waiting" in text_of(await click(bot, "fanout_reject", run_id, channel, user="U3"))


@pytest.mark.parametrize("ending", ["rejected", "expired", "withdrawn"])
async def test_a_run_that_is_rejected_expires_or_is_withdrawn_never_runs(bot: BotUnderTest, client: Client,
                                                                           ending: str):
    fake, channel = bot.fake, new_channel()
    await send(bot, "1-3 --approve-timeout 10s", channel)
    run_id = run_id_in(await first_run_message(fake, channel))
    await wait_status(client, run_id, "waiting")
    if ending == "rejected":
        assert "Rejected" in text_of(await click(bot, "fanout_reject", run_id, channel, user="U2"))
    elif ending == "withdrawn":
        assert "Only <@U1>" in text_of(await click(bot, "fanout_cancel", run_id, channel, user="U2"))
        assert "Withdrawn" in text_of(await click(bot, "fanout_cancel", run_id, channel, user="U1"))
    summary = await summary_of(fake, channel, timeout=30)
    memo = await wait_status(client, run_id, ending)
    await fake.wait_for(lambda: run_messages(fake, channel)[0].updates > 0)  # the final edit follows the summary
    final = run_messages(fake, channel)[0]
    assert "fanout_approve" not in action_ids(final) and "fanout_cancel" not in action_ids(final)
    said = {"rejected": "Rejected by <@U2>", "expired": "Expired", "withdrawn": "Withdrawn by <@U1>"}[ending]
    assert said in str(summary.blocks) and said in message_text(final)
    if ending == "rejected":
        assert memo["rejected_by"] == "U2"
    assert await never_started(client, run_id)
    assert "not waiting" in text_of(await click(bot, "fanout_approve", run_id, channel, user="U2"))


async def test_approvers_and_a_size_over_which_runs_wait_come_from_settings(task_queue: str, temporal_address: str,
                                                                            client: Client):
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue, approvers=frozenset({"UBOSS"}), approve_over=10),
                      fake, temporal_address) as bot:
        small, large = new_channel(), new_channel()
        await send(bot, "1-5", small)
        await summary_of(fake, small)  # at most 10 values: no approval
        await send(bot, "1-12", large)
        message = await first_run_message(fake, large)
        run_id = run_id_in(message)
        assert "by <@UBOSS>" in message_text(message) and "fanout_approve" in action_ids(message)
        assert "Only <@UBOSS>" in text_of(await click(bot, "fanout_approve", run_id, large, user="U2"))
        assert await never_started(client, run_id)
        assert "Approved" in text_of(await click(bot, "fanout_approve", run_id, large, user="UBOSS"))
        assert (await summary_of(fake, large)).metadata["event_payload"]["success_count"] == 6  # type: ignore[index]


@pytest.mark.parametrize("restart", ["deploy", "crash"])
async def test_an_approval_after_a_bot_restart_while_the_worker_is_down(fake_slack: FakeSlack, client: Client,
                                                                        temporal_address: str, tmp_path: Path,
                                                                        restart: str):
    queue, env, channel = f"approve-{uuid.uuid4().hex[:6]}", f"approve-{uuid.uuid4().hex[:6]}", new_channel()
    first = await start_bot("approve-a", temporal_address, queue, fake_slack.base_url, tmp_path, environment=env)
    await send(BotUnderTest(first.url, fake_slack, None), "1-4 --approve", channel)
    run_id = run_id_in(await first_run_message(fake_slack, channel))
    if restart == "deploy":
        assert await first.stop() == 0  # SIGTERM: its workers leave their sticky queues
    else:
        first.kill()  # its sticky queue holds the reporter's next task a while (measured: answered in 2-9 s)
    second = await start_bot("approve-b", temporal_address, queue, fake_slack.base_url, tmp_path, environment=env)
    worker = None
    try:
        # No worker.py polls the run's queue: the decision is the bot's alone. Measured: 0.06 s after a deploy,
        # 2-9 s after a crash (the dead replica's sticky queue and open polls hold the reporter's next task). Once in
        # CI a deploy took over 5 s (likely a task handed to the stopping replica's last poll, which waits out its
        # 10 s timeout). The product's own budget for a decision is the bound; a failure shows both bots' logs.
        try:
            answer = await click(BotUnderTest(second.url, fake_slack, None), "fanout_approve", run_id, channel, "U2",
                                 within=DECIDE_BUDGET_S + 1.0)
            assert "Approved" in text_of(answer)
        except AssertionError as err:
            raise AssertionError(f"{err}\n-- first bot --\n{first.output()[-3000:]}\n"
                                 f"-- second bot --\n{second.output()[-3000:]}") from err
        # The edit queries the run's progress first (no worker.py: QUERY_TIMEOUT). After a crash, its first try
        # may go to a poll the dead bot left open, and is retried after its start-to-close (CALL).
        edited_within = 15 if restart == "deploy" else 15 + CALL.total_seconds() + 10
        await fake_slack.wait_for(lambda: "approved by <@U2>" in message_text(run_messages(fake_slack, channel)[0]),
                                  timeout=edited_within)
        assert not summaries(fake_slack, channel)
        worker = await start_worker(temporal_address, queue, tmp_path, "approve-worker")
        summary = await summary_of(fake_slack, channel)
        assert "Approved by <@U2>" in str(summary.blocks)
    finally:
        assert await second.stop() == 0
        if worker is not None:
            assert await worker.stop() == 0


# -- the Workflow Builder step ----------------------------------------------------------------------------------


async def test_a_step_runs_in_its_channel_and_completes_with_its_outputs(bot: BotUnderTest, client: Client):
    fake, channel = bot.fake, new_channel()
    execution = await run_step(bot, {"values": "1-4", "fail_rule": "even", "retries": 2, "channel_id": channel})
    message = await first_run_message(fake, channel)
    assert "A workflow ran" in message_text(message)
    summary = await summary_of(fake, channel)
    await fake.wait_for(lambda: execution in fake.function_results, timeout=15)
    outcome = fake.function_results[execution]
    assert outcome["ok"] is True
    assert outcome["outputs"] == {
        "run_id": run_id_in(message), "success_count": 2, "failure_count": 2, "success_rate": 0.5,
        "summary_link": f"https://fake.slack.com/archives/{channel}/p{summary.ts.replace('.', '')}"
                        f"?thread_ts={message.ts}"}
    [completion] = fake.calls_to("functions.completeSuccess")[-1:]
    assert completion.token == BOT_TOKEN  # not the step's short-lived token: see docs/using.md
    _, memo = await reporter_state(client, run_id_in(message))
    assert memo["slack_user"] == "" and memo["slack_channel"] == channel


@pytest.mark.parametrize(("inputs", "says"), [
    ({"values": "1-x"}, "is not a number or a range"),
    ({"values": "", "fail_rule": "even"}, "Cannot run a fan-out"),
    ({"values": "1-3", "fail_rule": "sometimes"}, "sometimes"),
    ({"values": "1-3", "retries": 99}, "--retries"),
])
async def test_a_step_with_bad_input_fails_at_once_with_a_clear_message(bot: BotUnderTest, inputs: dict[str, Any],
                                                                        says: str):
    channel = new_channel()
    execution = await run_step(bot, {**inputs, "channel_id": channel})
    await bot.fake.wait_for(lambda: execution in bot.fake.function_results, timeout=5)
    outcome = bot.fake.function_results[execution]
    assert outcome["ok"] is False and says in outcome["error"] and "<" not in outcome["error"]
    await asyncio.sleep(0.5)
    assert not bot.fake.messages(channel)


async def test_a_step_completes_after_a_bot_restart_with_the_bot_token(fake_slack: FakeSlack, temporal_address: str,
                                                                       tmp_path: Path):
    queue, env, channel = f"step-{uuid.uuid4().hex[:6]}", f"step-{uuid.uuid4().hex[:6]}", new_channel()
    first = await start_bot("step-a", temporal_address, queue, fake_slack.base_url, tmp_path, environment=env)
    execution = await run_step(BotUnderTest(first.url, fake_slack, None), {"values": "1-3", "channel_id": channel})
    await first_run_message(fake_slack, channel)  # started; no worker.py yet, so it cannot finish
    first.kill()
    fake_slack.expire_workflow_tokens()  # the step's own token is long gone by the time the run finishes
    second = await start_bot("step-b", temporal_address, queue, fake_slack.base_url, tmp_path, environment=env)
    worker = await start_worker(temporal_address, queue, tmp_path, "step-worker")
    try:
        await fake_slack.wait_for(lambda: execution in fake_slack.function_results, timeout=30)
        outcome = fake_slack.function_results[execution]
        assert outcome["ok"] is True and outcome["outputs"]["success_count"] == 2  # 1 and 3; 2 fails
    finally:
        assert await second.stop() == 0
        assert await worker.stop() == 0
