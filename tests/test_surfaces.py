"""Slack surfaces beyond the slash command, end to end through the real Bolt app with signed requests and
events: the run form (opened by `/fanout` alone, the global shortcut, the help's and the Home's New run
buttons, Edit and run), its submission (valid, invalid, twice), Run again, and the App Home."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.models.views import View
from temporalio.client import Client

from bot.language.table import OPTIONS
from bot.render.form import ACTION, CHANNEL, SCENARIO, VALUES, argument_block, option_block
from devkit.fake_slack.requests import (
    app_home_opened,
    block_actions_body,
    home_action_body,
    post_signed,
    shortcut_body,
    slash_command_body,
    state_of,
    view_submission_body,
)
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from tests.conftest import SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests

FAIL = next(o for o in OPTIONS if o.name == "fail")


@pytest.fixture
async def surfaces(task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue, max_runs_per_user=3), fake,
                      temporal_address) as bot:
        yield bot


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


async def send(bot: BotUnderTest, body: str) -> tuple[int, str]:
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert elapsed < 3.0, elapsed
    return status, answer


async def opened_view(fake: FakeSlack, before: int) -> dict[str, Any]:
    await fake.wait_for(lambda: len(fake.views) > before, timeout=5)
    view = {**fake.views[-1]["view"], "id": fake.views[-1]["id"]}  # as Slack sends it back: with its id
    View(**{k: v for k, v in view.items() if k not in ("hash",)}).validate_json()  # Slack's models accept it
    return view


async def submit(bot: BotUnderTest, view: dict[str, Any], user: str = "U1", **typed: Any) -> dict[str, Any]:
    status, answer = await send(bot, view_submission_body(view, state_of(view, **typed), user_id=user))
    assert status == 200
    return json.loads(answer) if answer else {}


def runs(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"
            and m.thread_ts is None]


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


def run_id(message: PostedMessage) -> str:
    return str(message.metadata["event_payload"]["workflow_id"])  # type: ignore[index]


async def test_fanout_alone_opens_the_form_and_its_submission_runs_in_the_channel(surfaces: BotUnderTest) -> None:
    fake, channel = surfaces.fake, new_channel()
    before = len(fake.views)
    status, ack = await send(surfaces, slash_command_body("", channel_id=channel, response_url=fake.response_url()))
    assert status == 200 and ack == ""  # acked; the form opens (views.open, with the command's trigger)
    view = await opened_view(fake, before)
    assert CHANNEL not in {b.get("block_id") for b in view["blocks"]}  # the command's channel
    answer = await submit(surfaces, view, **{VALUES: "1-5", option_block(FAIL): "mod", argument_block(FAIL): "3"})
    assert answer == {}  # the modal closes
    await fake.wait_for(lambda: summaries(fake, channel), timeout=30)
    [run] = runs(fake, channel)
    assert "/fanout 1-5 --fail mod:3" in str(run.blocks)  # the same message as the slash command's
    [summary] = summaries(fake, channel)
    assert summary.thread_ts == run.ts and summary.metadata["event_payload"]["failure_count"] == 1  # type: ignore[index]


async def test_bad_input_stays_in_the_form_with_inline_errors_and_starts_nothing(surfaces: BotUnderTest) -> None:
    fake, channel = surfaces.fake, new_channel()
    before = len(fake.views)
    await send(surfaces, slash_command_body("", channel_id=channel, response_url=fake.response_url()))
    view = await opened_view(fake, before)
    for typed, field in [({VALUES: "1 two 3"}, VALUES),
                         ({VALUES: "1-5", option_block(FAIL): "mod", argument_block(FAIL): "zero"},
                          argument_block(FAIL)),
                         ({VALUES: "1 2", SCENARIO: "all-success"}, SCENARIO),
                         ({}, VALUES)]:
        answer = await submit(surfaces, view, **typed)
        assert answer["response_action"] == "errors" and list(answer["errors"]) == [field], answer
    await asyncio.sleep(0.5)
    assert not fake.messages(channel)


async def test_a_form_submitted_twice_starts_one_run(surfaces: BotUnderTest) -> None:
    fake, channel = surfaces.fake, new_channel()
    before = len(fake.views)
    await send(surfaces, slash_command_body("", channel_id=channel, response_url=fake.response_url()))
    view = await opened_view(fake, before)
    first, second = await asyncio.gather(submit(surfaces, view, **{VALUES: "1 2 3"}),
                                         submit(surfaces, view, **{VALUES: "1 2 3"}))
    assert first == second == {}
    await fake.wait_for(lambda: summaries(fake, channel), timeout=30)
    await asyncio.sleep(1)
    assert len(runs(fake, channel)) == 1 and len(summaries(fake, channel)) == 1


async def test_the_global_shortcut_asks_for_the_channel_and_obeys_its_allow_list(
        task_queue: str, temporal_address: str) -> None:
    allowed, other = new_channel(), new_channel()
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue, allowed_channels=frozenset({allowed})), fake,
                      temporal_address) as bot:
        before = len(fake.views)
        status, ack = await send(bot, shortcut_body("fanout_new_run"))
        assert status == 200 and ack == ""
        view = await opened_view(fake, before)
        assert CHANNEL in {b.get("block_id") for b in view["blocks"]}  # a global shortcut carries no channel
        refused = await submit(bot, view, **{VALUES: "1 2", CHANNEL: other})
        assert list(refused["errors"]) == [CHANNEL] and "FANOUT_ALLOWED_CHANNELS" in refused["errors"][CHANNEL]
        assert await submit(bot, view, **{VALUES: "1 2", CHANNEL: allowed}) == {}
        await fake.wait_for(lambda: summaries(fake, allowed), timeout=30)
        assert not fake.messages(other)


async def test_a_start_refused_by_the_cap_is_said_in_the_form(task_queue: str, temporal_address: str) -> None:
    channel = new_channel()
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, \
            serve_bot(settings_for_tests(fake.base_url, task_queue, max_runs_per_user=1), fake,
                      temporal_address) as bot:
        body = slash_command_body("1 --delay 30", user_id="UCAPPED", channel_id=channel,
                                  response_url=fake.response_url())
        await send(bot, body)
        await fake.wait_for(lambda: runs(fake, channel), timeout=15)
        before = len(fake.views)
        await send(bot, slash_command_body("", user_id="UCAPPED", channel_id=channel, response_url=fake.response_url()))
        view = await opened_view(fake, before)
        answer = await submit(bot, view, user="UCAPPED", **{VALUES: "1 2"})
        assert answer["response_action"] == "errors" and "FANOUT_MAX_RUNS_PER_USER" in answer["errors"][VALUES]
        assert run_id(runs(fake, channel)[0]) in answer["errors"][VALUES]
        assert len(runs(fake, channel)) == 1


async def test_run_again_and_edit_and_run_on_the_summary(surfaces: BotUnderTest, client: Client) -> None:
    fake, channel = surfaces.fake, new_channel()
    await send(surfaces, slash_command_body("1-4 --fail odd --child square", channel_id=channel,
                                            response_url=fake.response_url()))
    await fake.wait_for(lambda: summaries(fake, channel), timeout=30)
    [run], [summary] = runs(fake, channel), summaries(fake, channel)
    buttons = {e["action_id"]: e for b in summary.blocks if b["type"] == "actions" for e in b["elements"]}
    assert {"fanout_retry", "fanout_run_again", "fanout_edit_run"} <= set(buttons)

    def click(action: str, key: str) -> str:
        return block_actions_body(action, run_id(run), channel_id=channel, message_ts=summary.ts,
                                  container_thread_ts=run.ts, response_url=fake.response_url(key))

    # Run again, clicked twice: one new run, in the channel; the second click says where it is.
    await asyncio.gather(send(surfaces, click("fanout_run_again", "again-1")),
                         send(surfaces, click("fanout_run_again", "again-2")))
    await fake.wait_for(lambda: len(runs(fake, channel)) == 2, timeout=15)
    again = runs(fake, channel)[1]
    assert run_id(again) != run_id(run) and "/fanout 1-4 --fail odd --child square" in str(again.blocks)
    await fake.wait_for(lambda: any(r["key"].startswith("again-") for r in fake.responses), timeout=5)
    [said] = [r for r in fake.responses if r["key"].startswith("again-")]
    assert "already ran" in said["text"] and run_id(again) in said["text"]
    await asyncio.sleep(1)
    assert len(runs(fake, channel)) == 2

    # Edit and run: the form, filled in with the run's request, for its channel.
    before = len(fake.views)
    await send(surfaces, click("fanout_edit_run", "edit"))
    view = await opened_view(fake, before)
    state = state_of(view)
    assert state[VALUES][ACTION]["value"] == "1-4" and state[option_block(FAIL)][ACTION]["selected_option"][
        "value"] == "odd"
    assert await submit(surfaces, view, **{VALUES: "1-6"}) == {}
    await fake.wait_for(lambda: len(runs(fake, channel)) == 3, timeout=15)
    assert "/fanout 1-6 --fail odd --child square" in str(runs(fake, channel)[2].blocks)


async def test_the_app_home_shows_the_users_runs_and_the_days_totals(surfaces: BotUnderTest,
                                                                      client: Client) -> None:
    fake, channel, user = surfaces.fake, new_channel(), "UHOME" + uuid.uuid4().hex[:4].upper()
    for text in ("1 2 3", "1-4 --fail none", "1 --delay 600"):  # the third goes on until cancelled, below
        await send(surfaces, slash_command_body(text, user_id=user, channel_id=channel,
                                                response_url=fake.response_url()))
    await fake.wait_for(lambda: len(summaries(fake, channel)) == 2 and len(runs(fake, channel)) == 3, timeout=30)
    status, _ = await send(surfaces, app_home_opened(user))
    assert status == 200
    await fake.wait_for(lambda: user in fake.home_tabs, timeout=10)

    def home() -> str:
        return json.dumps(fake.home_tabs.get(user, {}), ensure_ascii=False)

    for _ in range(20):  # visibility is eventually consistent: open the tab again until it has caught up
        if "Your runs going* · 1" in home() and "*2* runs" in home():
            break
        await send(surfaces, app_home_opened(user))
        await asyncio.sleep(0.5)
    View(**fake.home_tabs[user]).validate_json()
    text = home()
    ids = [run_id(m) for m in runs(fake, channel)]
    assert all(i in text for i in ids)  # two finished, one going (with its progress)
    assert "Your runs going* · 1" in text and "of *1* done" in text, text
    assert "*2* runs" in text and "*7* values" in text, text  # today's totals: at least our two runs
    assert f"archives/{channel}/p" in text and "localhost:8233" in text

    # The Messages tab draws nothing; a burst of opens is coalesced into few publishes.
    published = fake.home_publishes(user)
    await send(surfaces, app_home_opened(user, tab="messages"))
    await asyncio.gather(*(send(surfaces, app_home_opened(user)) for _ in range(6)))
    await asyncio.sleep(3)
    # 7 opens (one still pending from the loop above may add its own): fewer publishes than opens.
    assert published + 1 <= fake.home_publishes(user) <= published + 4

    # A run of theirs finishing redraws their tab.
    before = fake.home_publishes(user)
    [going] = [m for m in runs(fake, channel) if "--delay 600" in json.dumps(m.blocks)]  # messages come in any order
    await client.get_workflow_handle(run_id(going)).signal("request_cancel", user)
    await fake.wait_for(lambda: fake.home_publishes(user) > before, timeout=20)
    assert "Your runs going* · none right now" in json.dumps(fake.home_tabs[user], ensure_ascii=False)


async def test_new_run_from_the_home_and_from_the_help(surfaces: BotUnderTest) -> None:
    fake, channel = surfaces.fake, new_channel()
    # The scenario's button as the Home tab has it: each button has its own action_id (Slack refuses shared ones).
    await send(surfaces, app_home_opened("UHOMEFORM"))
    await fake.wait_for(lambda: "UHOMEFORM" in fake.home_tabs, timeout=10)
    [action_id] = [e["action_id"] for b in fake.home_tabs["UHOMEFORM"]["blocks"] if b["type"] == "actions"
                   for e in b["elements"] if e.get("value") == "all-success"]
    assert action_id != "fanout_new_run"
    before = len(fake.views)
    await send(surfaces, home_action_body(action_id, "all-success", user_id="UHOMEFORM"))
    view = await opened_view(fake, before)
    blocks = {b.get("block_id"): b for b in view["blocks"]}
    assert CHANNEL in blocks and blocks[SCENARIO]["element"]["initial_option"]["value"] == "all-success"
    assert await submit(surfaces, view, **{CHANNEL: channel}) == {}
    await fake.wait_for(lambda: summaries(fake, channel), timeout=30)
    assert summaries(fake, channel)[0].metadata["event_payload"]["success_count"] == 5  # type: ignore[index]

    status, help_ack = await send(surfaces, slash_command_body("help", channel_id=channel,
                                                               response_url=fake.response_url()))
    assert "fanout_new_run" in help_ack
    before = len(fake.views)
    await send(surfaces, block_actions_body("fanout_new_run", "new", channel_id=channel, message_ts="1.1",
                                            response_url=fake.response_url()))
    view = await opened_view(fake, before)
    assert CHANNEL not in {b.get("block_id") for b in view["blocks"]}  # opened from a channel's help
