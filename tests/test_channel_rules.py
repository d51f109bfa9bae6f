"""A run belongs to its channel; who may cancel it; the per-user cap. Every case goes through signed requests
(from a second channel, a second user) to the real bot, and checks both the answer and the workflows' histories:
a refused request must leave no signal, update or cancel behind."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from tests.conftest import SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests
from tests.slack_asks import click, command, new_channel, text_of

TOUCHES = {EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
           EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
           EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ADMITTED}


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as slack:
        yield slack


async def start(bot: BotUnderTest, text: str, channel: str, user: str = "U1") -> str:
    before = len(bot.fake.messages(channel))
    key = f"k-{uuid.uuid4().hex[:8]}"
    body = slash_command_body(text, user_id=user, channel_id=channel, response_url=bot.fake.response_url(key),
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    status, ack, _ = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == ""
    await bot.fake.wait_for(lambda: len(bot.fake.messages(channel)) > before, timeout=15)
    message: PostedMessage = bot.fake.messages(channel)[before]
    return str(message.metadata["event_payload"]["workflow_id"])  # type: ignore[index]


async def touched(client: Client, workflow_id: str) -> list[str]:
    """Signals, cancel requests and updates in a workflow's history."""
    found = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type in TOUCHES:
            found.append(EventType.Name(event.event_type))
    return found


def same_answer(a: dict[str, Any], b: dict[str, Any], a_id: str, b_id: str) -> bool:
    return text_of(a).replace(a_id, "<id>") == text_of(b).replace(b_id, "<id>")


async def test_another_channel_learns_nothing_and_touches_nothing(fake: FakeSlack, task_queue: str,
                                                                  temporal_address: str, client: Client) -> None:
    private, other = "C0PRIVATE" + uuid.uuid4().hex[:4].upper(), new_channel()
    async with serve_bot(settings_for_tests(fake.base_url, task_queue), fake, temporal_address) as bot:
        run_id = await start(bot, "1-3 --delay 20 --fail none", private)
        unknown = "fanout-000000000000"
        nothing = await command(bot, f"status {unknown}", other, user="U2")
        assert "No run" in text_of(nothing) and "found in this channel" in text_of(nothing)
        # From another channel the run does not exist: the same words as an id that never did, nothing of it shown.
        for answer in (await command(bot, f"status {run_id}", other, user="U2"),
                       await command(bot, f"cancel {run_id}", other, user="U2"),
                       await command(bot, f"cancel {run_id}", other, user="U1"),  # even its own starter
                       await click(bot, "fanout_cancel", run_id, other, user="U1"),
                       await click(bot, "fanout_retry", run_id, other, user="U1")):
            assert same_answer(answer, nothing, run_id, unknown), text_of(answer)
            assert private not in text_of(answer) and "<@U1>" not in text_of(answer)
        # Shard, batch, child and reporter ids are not runs.
        for part in (f"{run_id}-s0", f"{run_id}-b3", f"{run_id}-c0", f"{run_id}-slack"):
            assert same_answer(await command(bot, f"cancel {part}", private), nothing, part, unknown)
        assert await touched(client, run_id) == [] and await touched(client, f"{run_id}-slack") == []
        assert (await client.get_workflow_handle(run_id).describe()).status == WorkflowExecutionStatus.RUNNING
        listed = text_of(await command(bot, "list", other))
        assert run_id not in listed and run_id in text_of(await command(bot, "list", private))
        # In its own channel, its starter may cancel it: now the run is touched, once.
        assert "Cancelling" in text_of(await command(bot, f"cancel {run_id}", private, user="U1"))
        assert await touched(client, f"{run_id}-slack") == ["EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED"]


async def test_a_workflow_the_bot_did_not_start_is_never_signalled(fake: FakeSlack, task_queue: str,
                                                                   temporal_address: str, client: Client) -> None:
    # Another team's workflows in the same namespace, one even named like a reporter. Nobody polls their queue.
    foreign = f"foreign-{uuid.uuid4().hex[:6]}"
    for wf in (foreign, f"{foreign}-slack"):
        await client.start_workflow("ForeignWorkflow", id=wf, task_queue=f"nobody-{uuid.uuid4().hex[:6]}")
    async with serve_bot(settings_for_tests(fake.base_url, task_queue), fake, temporal_address) as bot:
        where = new_channel()
        for text in (f"cancel {foreign}", f"status {foreign}"):
            assert "No run" in text_of(await command(bot, text, where))
        assert "No run" in text_of(await click(bot, "fanout_retry", foreign, where))
    assert await touched(client, foreign) == [] and await touched(client, f"{foreign}-slack") == []


async def test_who_may_cancel_starter_admins_or_the_whole_channel(fake: FakeSlack, task_queue: str,
                                                                  temporal_address: str, client: Client) -> None:
    where = new_channel()
    settings = settings_for_tests(fake.base_url, task_queue, admin_users=frozenset({"UADMIN"}))
    async with serve_bot(settings, fake, temporal_address) as bot:
        run_id = await start(bot, "1-2 --delay 20", where, user="U1")
        refused = text_of(await click(bot, "fanout_cancel", run_id, where, user="U2"))
        assert "Only <@U1> (who started it) or an admin (<@UADMIN>) can cancel" in refused
        assert await touched(client, f"{run_id}-slack") == []
        assert "Cancelling" in text_of(await click(bot, "fanout_cancel", run_id, where, user="UADMIN"))
        again = text_of(await command(bot, f"cancel {run_id}", where, user="U1"))
        assert "already being cancelled" in again or "not running" in again
    async with serve_bot(settings_for_tests(fake.base_url, task_queue, cancel_policy="channel"), fake,
                         temporal_address) as anyone:
        run_id = await start(anyone, "1-2 --delay 20", where, user="U1")
        assert "Cancelling" in text_of(await command(anyone, f"cancel {run_id}", where, user="U2"))
        memo = await (await client.get_workflow_handle(f"{run_id}-slack").describe()).memo()
        assert memo["cancelled_by"] == "U2"


async def test_the_per_user_cap_holds_against_quick_commands(fake: FakeSlack, task_queue: str,
                                                             temporal_address: str, client: Client) -> None:
    where = new_channel()
    settings = settings_for_tests(fake.base_url, task_queue, max_runs_per_user=2)
    async with serve_bot(settings, fake, temporal_address) as bot:
        # Three commands at once: visibility would lag; the quota workflow does not.
        answers = await asyncio.gather(*(command(bot, "1 --delay 30", where, user="UCAP") for _ in range(3)),
                                       return_exceptions=True)
        refusals = [a for a in answers if isinstance(a, dict)]
        assert len(refusals) == 1, answers
        refusal = text_of(refusals[0])
        assert "the most one person may have at once (2, FANOUT_MAX_RUNS_PER_USER)" in refusal
        await fake.wait_for(lambda: len(fake.messages(where)) == 2, timeout=15)
        running = [str(m.metadata["event_payload"]["workflow_id"]) for m in fake.messages(where)]  # type: ignore[index]
        assert sorted(set(re.findall(r"fanout-[0-9a-f]{12}", refusal))) == sorted(running)
        # Someone else is not held back by UCAP's runs.
        assert await start(bot, "1", where, user="UOTHER")
        # A run that ends (here: cancelled) frees its slot once it has reported.
        assert "Cancelling" in text_of(await command(bot, f"cancel {running[0]}", where, user="UCAP"))
        await client.get_workflow_handle(f"{running[0]}-slack").result()
        assert await start(bot, "1 --fail none", where, user="UCAP")


async def test_a_run_stops_counting_against_the_cap_once_its_summary_is_out(fake: FakeSlack, task_queue: str,
                                                                         temporal_address: str,
                                                                         client: Client) -> None:
    """Its final edit and files may still be on their way (here the timeline's upload hangs for 20 s): the run
    shows "Finished" with its summary, so it is not "going" any more."""
    where = new_channel()
    settings = settings_for_tests(fake.base_url, task_queue, max_runs_per_user=1)
    async with serve_bot(settings, fake, temporal_address) as bot:
        fake.stall_next("files.completeUploadExternal", 20)
        first = await start(bot, "1-12 --fail none", where, user="UCAP")  # 12 children: a timeline picture
        await fake.wait_for(lambda: any((m.metadata or {}).get("event_type") == "fanout_summary"
                                        for m in fake.messages(where)), timeout=15)
        await fake.wait_for(lambda: bool(fake.calls_to("files.completeUploadExternal")), timeout=15)
        reporter = await client.get_workflow_handle(f"{first}-slack").describe()
        assert reporter.status == WorkflowExecutionStatus.RUNNING  # still uploading its timeline
        assert await start(bot, "1 --fail none", where, user="UCAP")  # not refused: the first is finished
