"""Outages get a true answer within 3 s: Temporal down before the bot connected, Temporal lost after it
connected (the usual case: a deploy, a crash), and a start whose answer was lost on the way back (it may
have landed: the user is told so, and the run reports itself)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from bot.operations.start import Invocation, run_id_for
from bot.render.form import VALUES
from devkit.fake_slack.requests import post_signed, slash_command_body, state_of, view_submission_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS
from tests.conftest import SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests
from tests.entrypoints import dev_server_ports, start_dev_server
from tests.tcp_proxy import Proxy


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as slack:
        yield slack


def channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


async def private_answer(bot: BotUnderTest, text: str, where: str) -> tuple[dict[str, Any], float, str]:
    """Send ``text``; (its private answer, seconds from sending to the answer, the run id it would start)."""
    key, trigger = f"k-{uuid.uuid4().hex[:8]}", f"trigger-{uuid.uuid4().hex}"
    body = slash_command_body(text, channel_id=where, response_url=bot.fake.response_url(key), trigger_id=trigger)
    sent = time.monotonic()
    status, ack, _ = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == ""
    await bot.fake.wait_for(lambda: any(r["key"] == key for r in bot.fake.responses), timeout=10)
    answered = time.monotonic() - sent
    answer = next(r for r in bot.fake.responses if r["key"] == key)
    assert answer.get("response_type") == "ephemeral"
    return answer, answered, run_id_for(Invocation("U1", where, text, trigger_id=trigger, team_id="T1"))


def run_messages(fake: FakeSlack, where: str) -> list[PostedMessage]:
    return [m for m in fake.messages(where) if (m.metadata or {}).get("event_type") == "fanout_started"]


async def test_temporal_down_before_the_bot_connected(fake: FakeSlack) -> None:
    ports = dev_server_ports()  # nothing listens there yet
    where = channel()
    settings = settings_for_tests(fake.base_url, "recover-queue")
    async with serve_bot(settings, fake, ports.address, wait_workers=False) as bot:
        answer, seconds, _ = await private_answer(bot, "1 2 3", where)
        text = json.dumps(answer)
        assert seconds < 3.0 and "unreachable" in text.lower() and ports.address in text
        assert "nothing was started" in text and not fake.messages(where)
        # Temporal comes up on that address: the same bot works, no restart.
        env = await start_dev_server(ports)
        try:
            async with Worker(env.client, task_queue="recover-queue", workflows=WORKFLOWS,
                              workflow_runner=WORKFLOW_RUNNER):
                await fake.wait_for(lambda: bot.bot.workers.running, timeout=30)  # type: ignore[attr-defined]
                answer, _, run_id = await private_answer(bot, "status fanout-nosuchrun", where)
                assert "No run" in json.dumps(answer)
                key = "k-ok"
                body = slash_command_body("1 3", channel_id=where, response_url=fake.response_url(key))
                assert (await post_signed(bot.url, body, SIGNING_SECRET))[0] == 200
                await fake.wait_for(lambda: run_messages(fake, where), timeout=15)
        finally:
            await env.shutdown()


async def test_temporal_lost_after_the_bot_connected_is_answered_within_3_s(fake: FakeSlack) -> None:
    ports = dev_server_ports()
    env = await start_dev_server(ports)
    where = channel()
    try:
        async with serve_bot(settings_for_tests(fake.base_url, "lost-queue"), fake, ports.address) as bot:
            async with Worker(env.client, task_queue="lost-queue", workflows=WORKFLOWS,
                              workflow_runner=WORKFLOW_RUNNER):
                answer, _, _ = await private_answer(bot, "status fanout-nosuchrun", where)  # connected, working
                assert "No run" in json.dumps(answer)
            await env.shutdown()
            for text in ("1 2 3", "list", "status fanout-nosuchrun"):
                answer, seconds, _ = await private_answer(bot, text, where)
                assert seconds < 3.0, (text, seconds)
                rendered = json.dumps(answer)
                assert ports.address in rendered, rendered
            assert "nothing was started" in json.dumps((await private_answer(bot, "1 2", where))[0])
            assert not fake.messages(where)
    finally:
        await env.shutdown()


async def test_a_start_whose_answer_was_lost_says_it_may_have_started_and_the_run_reports_itself(
        fake: FakeSlack, client: Client, temporal_address: str, task_queue: str) -> None:
    # Commands reach Temporal through a proxy that stops passing answers back: the start lands, its answer
    # never comes. The workers connect directly, so the run goes on and reports itself in the channel.
    host, port = temporal_address.rsplit(":", 1)
    proxy = await Proxy(host, int(port)).start()
    where = channel()
    try:
        settings = settings_for_tests(fake.base_url, task_queue)
        async with serve_bot(settings, fake, proxy.address, workers_address=temporal_address) as bot:
            answer, _, _ = await private_answer(bot, "status fanout-nosuchrun", where)  # connected via the proxy
            assert "No run" in json.dumps(answer)
            proxy.answers = False
            answer, seconds, run_id = await private_answer(bot, "1 2 3", where)
            text = json.dumps(answer)
            assert seconds < 3.0 and "cannot tell whether run" in text and run_id in text, text
            assert f"/fanout status {run_id}" in text
            # It did start: its reporter posts its message and its summary, as for any run.
            await fake.wait_for(lambda: run_messages(fake, where), timeout=15)
            assert run_messages(fake, where)[0].metadata["event_payload"]["workflow_id"] == run_id  # type: ignore[index]
            await client.get_workflow_handle(f"{run_id}-slack").result()
            proxy.answers = True
            proxy.drop_connections()
            answer, _, _ = await private_answer(bot, f"status {run_id}", where)
            assert "Completed" in json.dumps(answer)
    finally:
        await proxy.stop()


async def test_the_ack_never_waits_on_temporal_for_the_child_types(fake: FakeSlack, task_queue: str,
                                                                   temporal_address: str) -> None:
    """Every command reads which child types workers serve; that read hangs here for good. Commands are acked
    all the same, from what was read last, and a child type that read did not know is refused after the ack."""
    settings = settings_for_tests(fake.base_url, task_queue)
    async with serve_bot(settings, fake, temporal_address) as bot:
        served = bot.bot.ops.child_types  # type: ignore[attr-defined]
        reads = 0

        async def never_answers() -> Client:
            nonlocal reads
            reads += 1
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

        served.client, served._read_at = never_answers, -1e9  # stale: the next command starts a read
        where = channel()
        status, ack, _ = await post_signed(bot.url, slash_command_body("help", channel_id=where,
                                                                       response_url=fake.response_url()),
                                           SIGNING_SECRET)
        assert status == 200 and "/fanout" in ack  # the help, from the lab's child types
        opened = len(fake.views)
        status, ack, _ = await post_signed(bot.url, slash_command_body("", channel_id=where,
                                                                       response_url=fake.response_url()),
                                           SIGNING_SECRET)
        assert status == 200 and ack == ""
        await fake.wait_for(lambda: len(fake.views) > opened, timeout=3)  # the form opened, within the trigger
        form = fake.views[-1]
        status, ack, _ = await post_signed(bot.url, view_submission_body(
            {**form["view"], "id": form["id"]}, state_of(form["view"], **{VALUES: "1 2 3"}), user_id="U1"),
            SIGNING_SECRET)
        assert status == 200 and ack == ""  # the run started from the form
        answer, _, _ = await private_answer(bot, "1 2 --child resize", where)  # acked with nothing, then refused
        assert "No worker serves the child type `resize`" in json.dumps(answer)
        await fake.wait_for(lambda: len(run_messages(fake, where)) == 1, timeout=15)
        assert reads == 1  # one read in flight at a time, however many commands

