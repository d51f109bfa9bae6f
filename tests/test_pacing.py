"""Each channel's posts at Slack's pace (bot.queues): a rate limit per fairness key on the posts queue, the key
being the post's channel. A busy channel's posts queue up in Temporal instead of meeting Slack's 429s, and a quiet
channel's run is not held up behind them. Rates here are Slack's times 2 (the fake's and the bot's alike)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from bot import queues
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from tests.conftest import BotUnderTest, serve_bot, settings_for_tests
from tests.slack_asks import new_channel, send

SCALE = 2.0
BUSY_RUNS = 12


@pytest.fixture
async def paced_bot(task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    async with FakeSlack(limits=SlackLimits.scaled(SCALE)) as fake:
        settings = settings_for_tests(fake.base_url, task_queue)  # every budget Slack's times 20 ...
        budget = replace(settings.slack_budget, posts_per_channel=queues.POSTS_PER_CHANNEL_PER_MINUTE * SCALE)
        async with serve_bot(replace(settings, slack_budget=budget), fake, temporal_address) as bot:
            yield bot  # ... but posts to one channel at 2 x 0.9/s


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def test_the_posts_queue_has_its_per_channel_limit(paced_bot: BotUnderTest, client: Client) -> None:
    posts = queues.activity_queue(paced_bot.bot.workers.workflow_queue, queues.POSTS)  # type: ignore[attr-defined]
    described = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=posts, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, report_config=True))
    per_second = described.config.fairness_keys_rate_limit_default.rate_limit.requests_per_second
    assert per_second == pytest.approx(0.9 * SCALE)


async def test_a_busy_channel_is_paced_and_a_quiet_one_is_not_held_up(paced_bot: BotUnderTest) -> None:
    fake, busy, quiet = paced_bot.fake, new_channel(), new_channel()
    for i in range(BUSY_RUNS):  # 12 runs, 24 posts, in one channel within a second or two
        await send(paced_bot, "1 2 --fail none", busy, user=f"U{i:03d}")
        if i == BUSY_RUNS // 2:
            quiet_sent = time.monotonic()
            await send(paced_bot, "1 2 3", quiet)
    await fake.wait_for(lambda: bool(summaries(fake, quiet)), timeout=15)
    quiet_lag = time.monotonic() - quiet_sent
    await fake.wait_for(lambda: len(summaries(fake, busy)) == BUSY_RUNS, timeout=60)
    posts = [c for c in fake.calls_to("chat.postMessage") if c.params.get("channel") == busy]
    refused = [c for c in fake.failed_calls if c.method == "chat.postMessage"]
    assert refused == []  # no 429: the posts waited in Temporal, not at Slack
    assert len(posts) == 2 * BUSY_RUNS
    spread = posts[-1].at - posts[0].at
    assert spread >= (len(posts) - 3) / (0.9 * SCALE) * 0.9, spread  # paced: a 2-burst, then ~1.8/s
    assert quiet_lag < 6.0, quiet_lag  # its 2 posts did not wait behind the busy channel's


def test_budget_reads_the_per_channel_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import slack_budget
    from runtime.config import ConfigError

    assert slack_budget().posts_per_channel == queues.POSTS_PER_CHANNEL_PER_MINUTE
    monkeypatch.setenv("FANOUT_SLACK_POSTS_PER_CHANNEL_PER_MINUTE", "30")
    assert slack_budget().posts_per_channel == 30.0
    monkeypatch.setenv("FANOUT_SLACK_POSTS_PER_CHANNEL_PER_MINUTE", "fast")
    with pytest.raises(ConfigError, match="FANOUT_SLACK_POSTS_PER_CHANNEL_PER_MINUTE must be a number"):
        slack_budget()
