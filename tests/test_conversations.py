"""/fanout in each kind of Slack conversation, end to end: runs work in public and private channels; a private
channel without the app gets its starter one direct message (Slack answers channel_not_found there); a DM with
the app, a DM between other people and a group DM are refused privately in the ack, saying where to run it, and
nothing starts. A Workflow Builder step given a DM fails at once."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client

from devkit.fake_slack.web_api import PostedMessage
from runtime import search_attributes as sa
from tests.conftest import BotUnderTest
from tests.slack_asks import command, run_step, send, text_of


def private_channel() -> str:
    return "G" + uuid.uuid4().hex[:9].upper()


def started(bot: BotUnderTest, channel: str) -> list[PostedMessage]:
    return [m for m in bot.fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(bot: BotUnderTest, channel: str) -> list[PostedMessage]:
    return [m for m in bot.fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def runs_in(client: Client, channel: str) -> int:
    return (await client.count_workflows(f"{sa.CHANNEL.name} = '{channel}'")).count


@pytest.mark.parametrize("channel_name", ["general", "privategroup"])
async def test_a_run_reports_in_a_public_or_private_channel_the_app_is_in(bot: BotUnderTest, channel_name: str):
    channel = ("C" if channel_name == "general" else "G") + uuid.uuid4().hex[:9].upper()
    await send(bot, "1-4 --fail even", channel, channel_name=channel_name)
    await bot.fake.wait_for(lambda: bool(summaries(bot, channel)), timeout=30)
    [run] = started(bot, channel)
    [summary] = summaries(bot, channel)
    payload = summary.metadata["event_payload"]  # type: ignore[index]
    assert summary.thread_ts == run.ts and (payload["success_count"], payload["failure_count"]) == (2, 2)


async def test_a_private_channel_without_the_app_gets_the_starter_one_direct_message(bot: BotUnderTest,
                                                                                     client: Client):
    channel = private_channel()
    bot.fake.without_the_app(channel)  # Slack: channel_not_found, as if it did not exist
    await send(bot, "1-3", channel, channel_name="privategroup")
    await bot.fake.wait_for(lambda: bool(bot.fake.dms("U1")) and any(channel in m.text for m in bot.fake.dms("U1")),
                            timeout=15)
    [dm] = [m for m in bot.fake.dms("U1") if channel in m.text]
    assert "channel_not_found" in dm.text and "/invite @fanout" in dm.text
    assert not bot.fake.messages(channel)
    assert await runs_in(client, channel) >= 1  # the run goes on without Slack


@pytest.mark.parametrize(("channel", "channel_name", "kind"), [
    ("D" + uuid.uuid4().hex[:8].upper(), "directmessage", "a direct message"),  # the app's own DM
    ("D" + uuid.uuid4().hex[:8].upper(), "directmessage", "a direct message"),  # a DM between two other people
    ("G" + uuid.uuid4().hex[:9].upper(), "mpdm-alice--bob--carol-1", "a group DM"),
    ("C" + uuid.uuid4().hex[:9].upper(), "mpdm-alice--bob--carol-2", "a group DM"),  # newer group DMs' ids start C
], ids=["app-dm", "dm-of-others", "group-dm", "group-dm-c-id"])
async def test_dms_and_group_dms_are_refused_privately_saying_where_to_run(bot: BotUnderTest, client: Client,
                                                                          channel: str, channel_name: str, kind: str):
    views_before = len(bot.fake.views)
    for text in ("1 2 3", "", "list", "status fanout-x", "schedule every 1h 1-3"):
        answer = await command(bot, text, channel, channel_name=channel_name)  # the ack's own body
        said = text_of(answer)
        assert answer.get("response_type") == "ephemeral", (text, answer)
        assert f"this is {kind}" in said and "/invite @fanout" in said and "*Start a fan-out*" in said, text
    await asyncio.sleep(0.5)
    assert len(bot.fake.views) == views_before  # `/fanout` alone opened no form
    assert not bot.fake.messages(channel)
    assert await runs_in(client, channel) == 0


async def test_a_step_given_a_direct_message_fails_at_once(bot: BotUnderTest, client: Client):
    channel = "D" + uuid.uuid4().hex[:8].upper()
    execution = await run_step(bot, {"values": "1-3", "channel_id": channel})
    await bot.fake.wait_for(lambda: execution in bot.fake.function_results, timeout=5)
    outcome = bot.fake.function_results[execution]
    assert outcome["ok"] is False and "a direct message" in outcome["error"]
    assert await runs_in(client, channel) == 0
