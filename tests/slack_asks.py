"""Asking the real bot something as Slack would (signed requests), and reading its private answer: shared by the
end-to-end tests of channel rules, conversations, schedules, approvals and steps."""

from __future__ import annotations

import json
import uuid
from typing import Any

from devkit.fake_slack.requests import block_actions_body, function_executed, post_signed, slash_command_body
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
