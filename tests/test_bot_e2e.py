"""The bot end to end: signed Slack requests over HTTP -> real Bolt -> real Temporal -> fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys

from devkit.fake_slack.web_api import FakeSlack
from tests.conftest import BotUnderTest


def started_messages(fake: FakeSlack, channel: str = "C1") -> list:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(fake: FakeSlack, channel: str, thread_ts: str) -> list:
    return [m for m in fake.thread(channel, thread_ts) if (m.metadata or {}).get("event_type") == "fanout_summary"]


def all_text(message) -> str:
    return message.text + json.dumps(message.blocks, ensure_ascii=False)


async def run_command(bot: BotUnderTest, text: str, *, channel: str = "C1", **kw):
    """Send the command, return (ack status, ack body, ack seconds, run message)."""
    before = len(started_messages(bot.fake, channel))
    status, body, elapsed = await bot.command(text, channel_id=channel, **kw)
    await bot.fake.wait_for(lambda: len(started_messages(bot.fake, channel)) > before, timeout=15)
    return status, body, elapsed, started_messages(bot.fake, channel)[-1]


async def wait_summary(bot: BotUnderTest, channel: str, ts: str, timeout: float = 60):
    await bot.fake.wait_for(lambda: summaries(bot.fake, channel, ts), timeout=timeout)
    return summaries(bot.fake, channel, ts)[0]


async def test_fanout_1_to_5_posts_run_message_and_one_threaded_summary(bot: BotUnderTest):
    status, ack_body, elapsed, run = await run_command(bot, "1 2 3 4 5", channel="C-e2e")
    assert status == 200 and elapsed < 3.0 and ack_body == ""
    workflow_id = run.metadata["event_payload"]["workflow_id"]
    assert workflow_id.startswith("fanout-")
    text = all_text(run)
    assert "<@U1>" in text and workflow_id in text and "localhost:8233" in text

    summary = await wait_summary(bot, "C-e2e", run.ts)
    assert summary.metadata == {
        "event_type": "fanout_summary",
        "event_payload": summary.metadata["event_payload"],
    }
    payload = summary.metadata["event_payload"]
    assert {k: payload[k] for k in ("workflow_id", "total_children", "success_count", "failure_count",
                                    "success_rate")} == {
        "workflow_id": workflow_id, "total_children": 5, "success_count": 3, "failure_count": 2,
        "success_rate": 0.6,
    }
    text = all_text(summary)
    assert "Simulated failure for value 2" in text and "Simulated failure for value 4" in text
    assert "60%" in text and "1 → 2" in text and "5 → 10" in text
    await asyncio.sleep(1.5)  # nothing more arrives: exactly one summary, and no stray top-level posts
    assert len(summaries(bot.fake, "C-e2e", run.ts)) == 1
    assert len(bot.fake.thread("C-e2e", run.ts)) == 1
    assert len(started_messages(bot.fake, "C-e2e")) == 1


async def test_bad_input_gets_private_usage_and_starts_nothing(bot: BotUnderTest):
    posts_before = len(bot.fake.calls_to("chat.postMessage"))
    for text in ["abc", "1 2 --bogus", "<!channel> & <@U2>"]:  # `/fanout` alone opens the form (test_form.py)
        status, body, elapsed = await bot.command(text, channel_id="C-bad")
        assert status == 200 and elapsed < 3.0
        answer = json.loads(body)
        rendered = json.dumps(answer, ensure_ascii=False)
        assert answer.get("response_type", "ephemeral") == "ephemeral"
        assert "/fanout 1 2 3 4 5" in rendered  # usage
        assert "<!channel>" not in rendered and "<@U2>" not in rendered
    assert "&lt;!channel&gt;" in rendered
    await asyncio.sleep(0.5)
    assert len(bot.fake.calls_to("chat.postMessage")) == posts_before


async def test_help_is_private(bot: BotUnderTest):
    status, body, _ = await bot.command("help")
    answer = json.dumps(json.loads(body), ensure_ascii=False)
    assert status == 200 and "--fail" in answer and "--retries" in answer and "scenario" in answer


async def test_forged_requests_are_refused(bot: BotUnderTest):
    posts_before = len(bot.fake.calls_to("chat.postMessage"))
    status, _, _ = await bot.command("1 2 3", secret="not-the-secret")
    assert status == 401
    import time

    status, _, _ = await bot.command("1 2 3", timestamp=int(time.time()) - 600)
    assert status == 401
    await asyncio.sleep(0.5)
    assert len(bot.fake.calls_to("chat.postMessage")) == posts_before


def test_missing_slack_credentials_exit_2_with_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLACK_")}
    proc = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env={**env, "PYTHONPATH": os.getcwd()},
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 2
    assert "SLACK_BOT_TOKEN" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
