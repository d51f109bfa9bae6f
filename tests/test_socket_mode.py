"""Socket Mode, the manifest's default: the real bot process (``python -m bot`` with SLACK_APP_TOKEN)
connects to a loopback stand-in for Slack's Socket Mode end, gets commands and clicks as envelopes,
acks them over the socket, and answers through the (fake) Web API — and reconnects when Slack asks."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from tests.conftest import TEST_SLACK_SCALE
from tests.fake_socket_mode import FakeSocketMode
from tests.processes import BotProcess, start_bot


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, FakeSocketMode]]:
    async with FakeSlack(limits=SlackLimits.scaled(TEST_SLACK_SCALE)) as fake, FakeSocketMode() as socket:
        fake.socket_url = socket.url
        yield fake, socket


def of_type(fake: FakeSlack, channel: str, event_type: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == event_type]


async def health(bot: BotProcess) -> dict[str, object]:
    url = bot.url.replace("/slack/events", "/healthz")
    async with aiohttp.ClientSession() as session, session.get(url) as res:
        return dict(await res.json())


async def test_commands_and_buttons_over_socket_mode(slack: tuple[FakeSlack, FakeSocketMode], task_queue: str,
                                                     temporal_address: str, tmp_path: Path) -> None:
    fake, socket = slack
    bot = await start_bot("bot-socket", temporal_address, task_queue, fake.base_url, tmp_path,
                          environment=f"socket-{uuid.uuid4().hex[:6]}", SLACK_APP_TOKEN=fake.app_token)
    try:
        await socket.wait_connected()
        assert fake.calls_to("apps.connections.open")[0].token == fake.app_token  # the app token, only there
        assert await health(bot) == {"ok": True, "mode": "socket", "temporal": "connected", "workers": "running",
                                     "slack_token": "accepted", "slack": "connected"}
        channel = f"C-{uuid.uuid4().hex[:8]}"

        # The lab's command: acked over the socket, run message, one summary in its thread.
        envelope = await socket.slash_command("1 2 3 4 5", channel_id=channel, response_url=fake.response_url(channel))
        ack, ack_s = await socket.ack(envelope)
        assert ack["envelope_id"] == envelope and ack_s < 3.0
        await fake.wait_for(lambda: of_type(fake, channel, "fanout_summary"), timeout=30)
        [run] = of_type(fake, channel, "fanout_started")
        [summary] = of_type(fake, channel, "fanout_summary")
        assert summary.thread_ts == run.ts
        assert summary.metadata is not None
        payload = summary.metadata["event_payload"]
        assert (payload["total_children"], payload["success_count"], payload["success_rate"]) == (5, 3, 0.6)

        # Bad input: the answer rides on the ack (private to the user), escaped, with usage; nothing posted.
        posted = len(fake.messages(channel))
        envelope = await socket.slash_command("1 2 <b>", channel_id=channel, response_url=fake.response_url(channel))
        ack, _ = await socket.ack(envelope)
        refusal = json.dumps(ack["payload"])
        assert "&lt;b&gt;" in refusal and "<b>" not in refusal and "Usage" in refusal
        assert ack["payload"].get("response_type", "ephemeral") == "ephemeral"
        await asyncio.sleep(0.5)
        assert len(fake.messages(channel)) == posted

        # Slack recycles the connection: the app fetches a new URL, reconnects, and keeps working.
        await socket.ask_to_reconnect()
        await socket.wait_connected(connects=2)
        assert len(fake.calls_to("apps.connections.open")) >= 2

        # The Cancel button, clicked during a slow run, arrives as an interactive envelope.
        envelope = await socket.slash_command("1-6 --delay 20", channel_id=channel,
                                              response_url=fake.response_url(channel))
        await socket.ack(envelope)
        await fake.wait_for(lambda: len(of_type(fake, channel, "fanout_started")) == 2, timeout=15)
        slow = of_type(fake, channel, "fanout_started")[-1]
        assert slow.metadata is not None
        run_id = slow.metadata["event_payload"]["workflow_id"]
        click = await socket.click("fanout_cancel", run_id, message_ts=slow.ts, user_id="U1", channel_id=channel,
                                   response_url=fake.response_url(channel))
        _, click_s = await socket.ack(click)
        assert click_s < 3.0
        await fake.wait_for(lambda: len(of_type(fake, channel, "fanout_summary")) == 2, timeout=30)
        cancelled = of_type(fake, channel, "fanout_summary")[-1]
        assert cancelled.thread_ts == slow.ts
        assert cancelled.metadata is not None and cancelled.metadata["event_payload"]["status"] == "cancelled"
        assert "6 cancelled" in cancelled.text and "<@U1>" in json.dumps(cancelled.blocks)  # who cancelled
    finally:
        assert await bot.stop() == 0
    assert "xapp-" not in bot.output() and "xoxb-" not in bot.output()  # tokens never logged


async def test_a_refused_app_token_is_one_line_and_exit_2(slack: tuple[FakeSlack, FakeSocketMode], task_queue: str,
                                                          temporal_address: str, tmp_path: Path) -> None:
    fake, _ = slack
    fake.socket_url = ""  # apps.connections.open answers invalid_auth
    from tests.entrypoints import PYTHON, child_env, free_port, run

    env = child_env(SLACK_BOT_TOKEN=fake.bot_token, SLACK_APP_TOKEN="xapp-revoked", SLACK_API_URL=fake.base_url,
                    TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=task_queue, PORT=str(free_port()))
    code, out, err = await asyncio.wait_for(run([PYTHON, "-m", "bot"], env), 60)
    assert code == 2, err
    assert err.strip().splitlines()[-1] == "bot: SLACK_APP_TOKEN was refused by Slack (invalid_auth)"
    assert "Traceback" not in err
