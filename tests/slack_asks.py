"""Asking the real bot something as Slack would (signed requests), and reading its private answer: shared by the
end-to-end tests of channel rules, conversations, schedules, approvals and steps."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from devkit.fake_slack.requests import (
    block_actions_body,
    function_executed,
    post_signed,
    slash_command_body,
    view_action_body,
)
from tests.conftest import SIGNING_SECRET, BotUnderTest


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


async def answer_to(bot: BotUnderTest, body: str, key: str, within: float = 3.0) -> dict[str, Any]:
    """The private answer to a request: its ack's body, or what it posted to its response_url ``within`` s."""
    status, ack, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and elapsed < 3.0
    if ack:
        return dict(json.loads(ack))
    await bot.fake.wait_for(lambda: any(r["key"] == key for r in bot.fake.responses), timeout=within)
    answer = next(r for r in bot.fake.responses if r["key"] == key)
    assert answer.get("response_type") == "ephemeral"
    return dict(answer)


async def command(bot: BotUnderTest, text: str, channel: str, user: str = "U1",
                  trigger_id: str | None = None, channel_name: str = "general") -> dict[str, Any]:
    key = f"k-{uuid.uuid4().hex[:8]}"
    body = slash_command_body(text, user_id=user, channel_id=channel, channel_name=channel_name,
                              response_url=bot.fake.response_url(key),
                              trigger_id=trigger_id or f"trigger-{uuid.uuid4().hex}")
    return await answer_to(bot, body, key)


async def click(bot: BotUnderTest, action: str, value: str, channel: str, user: str = "U1",
                within: float = 3.0) -> dict[str, Any]:
    key = f"k-{uuid.uuid4().hex[:8]}"
    body = block_actions_body(action, value, user_id=user, channel_id=channel, message_ts="1.000001",
                              response_url=bot.fake.response_url(key))
    return await answer_to(bot, body, key, within)


def text_of(answer: dict[str, Any]) -> str:
    return str(answer.get("text", "")) + json.dumps(answer.get("blocks", []), ensure_ascii=False)


async def send(bot: BotUnderTest, text: str, channel: str, user: str = "U1", channel_name: str = "general") -> None:
    """A command that answers in the channel, not privately (a run): acked at once, with nothing to say."""
    body = slash_command_body(text, user_id=user, channel_id=channel, channel_name=channel_name,
                              response_url=bot.fake.response_url(),
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    status, ack, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == "" and elapsed < 3.0


async def run_step(bot: BotUnderTest, inputs: dict[str, Any], url: str | None = None) -> str:
    """Run the Workflow Builder step "Run a fan-out" with ``inputs`` (function_executed); returns its execution id."""
    execution = f"Fx{uuid.uuid4().hex[:10].upper()}"
    body = function_executed("fanout_run", inputs, execution_id=execution,
                             bot_access_token=bot.fake.issue_workflow_token(execution))
    status, _, elapsed = await post_signed(url or bot.url, body, SIGNING_SECRET)
    assert status == 200 and elapsed < 3.0
    return execution


# -- modals: the Details modal opened, clicked in, as Slack sends it ------------------------------------------------

def fresh_trigger() -> str:
    """A trigger id issued now: the fake Slack expires it after 3 s, as Slack does."""
    return f"{int(time.time())}.{uuid.uuid4().int % 10**9}.fake"


def view_as_sent(record: dict[str, Any]) -> dict[str, Any]:
    """A modal as Slack sends it with a click inside it: the view the app last set, with its id, its hash and its
    place in the stack."""
    return {**record["view"], "id": record["id"], "hash": record["hash"], "root_view_id": record["root_view_id"],
            "previous_view_id": record["previous_view_id"]}


def opened_by(bot: BotUnderTest, trigger_id: str) -> dict[str, Any] | None:
    return next((v for v in bot.fake.views if v["trigger_id"] == trigger_id), None)


async def details_modal(bot: BotUnderTest, run_id: str, channel: str, user: str = "U1",
                        command: bool = False) -> dict[str, Any]:
    """Details clicked on a run's message (or ``/fanout details <id>`` typed): the modal, once the bot has filled it
    in (the fake Slack's record: its view, hash and updates). Opened within the 3 s the trigger lasts."""
    trigger = fresh_trigger()
    body = (slash_command_body(f"details {run_id}", user_id=user, channel_id=channel, trigger_id=trigger,
                               response_url=bot.fake.response_url())
            if command else block_actions_body("fanout_details", run_id, user_id=user, channel_id=channel,
                                                message_ts="1.000001", response_url=bot.fake.response_url(),
                                                trigger_id=trigger))
    status, ack, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == "" and elapsed < 3.0
    await bot.fake.wait_for(lambda: (opened_by(bot, trigger) or {}).get("updates", 0) >= 1, timeout=10)
    record = opened_by(bot, trigger)
    assert record is not None and record["method"] == "views.open"
    return record


async def click_in_modal(bot: BotUnderTest, record: dict[str, Any], action_id: str, value: str = "",
                         user: str = "U1", view: dict[str, Any] | None = None) -> dict[str, Any]:
    """A button clicked inside a modal (``view``: as Slack sends it, by default the modal as it is now): the
    modal once updated, or the view pushed over it."""
    trigger = fresh_trigger()
    updates = record["updates"]
    body = view_action_body(action_id, value or action_id.partition(":")[2], view or view_as_sent(record),
                            user_id=user, trigger_id=trigger)
    status, ack, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == "" and elapsed < 3.0
    await bot.fake.wait_for(lambda: record["updates"] > updates
                            or (opened_by(bot, trigger) or {}).get("updates", 0) >= 1, timeout=10)
    return opened_by(bot, trigger) or record


def modal_text(record: dict[str, Any]) -> str:
    return json.dumps(record["view"], ensure_ascii=False)
