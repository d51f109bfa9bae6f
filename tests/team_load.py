"""A whole team at once: many runs in a few channels through several bot replicas (real ``python -m bot``
processes) against a fake Slack with Slack's own rate tiers. Measured, not asserted: the tests
(tests/test_team_load.py) assert on the figures of a small load, ``make bench`` prints those of the
workshop-sized one.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.client import Client

from bot.operations.start import Invocation, run_id_for
from bot.reporting.payloads import ReportOutcome
from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import ApiCall, FakeSlack, PostedMessage
from tests.conftest import SIGNING_SECRET
from tests.processes import BotProcess, start_bot
from tests.server_metrics import delta, settled_requests

SUMMARY_WITHIN_S = 5.0  # of its run closing ...
CHANNEL_PACE_S = 1.0  # ... or of the previous summary in its channel (Slack's ~1 post/s per channel)
PACE_SLACK_S = 1.0  # the retry after a 429 lands on whole seconds


@dataclass(frozen=True)
class TeamLoad:
    runs: int = 30
    channels: int = 3
    replicas: int = 2
    spread_s: float = 10.0  # commands sent evenly over this long
    text: str = "1-8 --delay 5-45 --fail none"


@dataclass
class TeamFigures:
    runs: int
    replicas: int
    run_messages: list[int]  # per run: how many run messages it got (1 each)
    summaries: list[int]  # per run: how many summaries (1 each)
    final_states: int  # run messages that ended showing the finished run
    update_attempts: int
    update_max_per_minute: int
    update_429s: int
    slack_attempts: int  # every Web API attempt, refused ones included
    run_message_lag_max_s: float  # command -> its run message
    summary_lag_max_s: float  # run closed -> its summary
    summaries_late: list[str] = field(default_factory=list)  # past 5 s and past their channel's pace
    final_edit_lag_max_s: float = 0.0  # summary -> final edit
    rpcs: dict[str, int] = field(default_factory=dict)  # Temporal RPCs by method, during the load
    long_polls: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


async def run_team_load(load: TeamLoad, fake: FakeSlack, client: Client, *, temporal_address: str, metrics_port: int,
                        task_queue: str, tmp_path: Path, progress_interval_s: float = 3.0) -> TeamFigures:
    env = f"team-{uuid.uuid4().hex[:6]}"
    bots = [await start_bot(f"{env}-{i}", temporal_address, task_queue, fake.base_url, tmp_path, environment=env,
                            scale=1, FANOUT_PROGRESS_INTERVAL=str(progress_interval_s))
            for i in range(load.replicas)]
    channels = ["C" + uuid.uuid4().hex[:9].upper() for _ in range(load.channels)]
    offset = time.time() - time.monotonic()  # fake.attempts are stamped with time.monotonic()
    attempts_before = len(fake.attempts)
    try:
        rpc_before = await settled_requests(metrics_port)
        started = time.monotonic()
        sent = await asyncio.gather(*(_send(bots[i % len(bots)], fake, load, channels[i % len(channels)], i,
                                            delay=i * load.spread_s / max(load.runs, 1)) for i in range(load.runs)))
        outcomes = await asyncio.gather(*(_outcome(client, run_id) for run_id, _, _ in sent))
        rpc_after = await settled_requests(metrics_port)
        seconds = time.monotonic() - started
    finally:
        for bot in bots:
            await bot.stop()
    attempts = fake.attempts[attempts_before:]
    rpcs, polls = delta(rpc_before, rpc_after)
    figures = TeamFigures(
        runs=load.runs, replicas=load.replicas, run_messages=[], summaries=[], final_states=0,
        update_attempts=len([a for a in attempts if a.method == "chat.update"]),
        update_max_per_minute=fake.max_in_window("chat.update"),
        update_429s=len([a for a in attempts if a.method == "chat.update" and a.status == 429]),
        slack_attempts=len(attempts), run_message_lag_max_s=0.0, summary_lag_max_s=0.0, rpcs=rpcs,
        long_polls=polls, seconds=seconds,
    )
    last_summary_in: dict[str, float] = {}
    closes = []
    for (run_id, channel, sent_at), outcome in zip(sent, outcomes, strict=True):
        close = (await client.get_workflow_handle(run_id).describe()).close_time
        assert close is not None
        closes.append((close.timestamp() - offset, run_id, channel, sent_at, outcome))
    for closed_at, run_id, channel, sent_at, outcome in sorted(closes):
        messages = tagged(fake, channel, "fanout_started", run_id)
        summaries = tagged(fake, channel, "fanout_summary", run_id)
        figures.run_messages.append(len(messages))
        figures.summaries.append(len(summaries))
        posts = posted(attempts, "fanout_started", run_id)
        if posts:
            figures.run_message_lag_max_s = max(figures.run_message_lag_max_s, posts[0].at - sent_at)
        summary_posts = posted(attempts, "fanout_summary", run_id)
        if summary_posts:
            at = summary_posts[0].at
            figures.summary_lag_max_s = max(figures.summary_lag_max_s, at - closed_at)
            pace = last_summary_in.get(channel, 0.0) + CHANNEL_PACE_S + PACE_SLACK_S
            if at - closed_at > SUMMARY_WITHIN_S and at > pace:
                figures.summaries_late.append(f"{run_id}: {at - closed_at:.1f} s after it closed")
            last_summary_in[channel] = at
        if messages and is_final(messages[0].blocks):
            figures.final_states += 1
        finals = [a for a in attempts if a.method == "chat.update" and a.status == 200 and messages
                  and a.params.get("ts") == messages[0].ts and is_final(a.params.get("blocks"))]
        if finals and summary_posts:
            figures.final_edit_lag_max_s = max(figures.final_edit_lag_max_s, finals[-1].at - summary_posts[0].at)
        assert outcome.summary_ts or outcome.stopped, outcome
    return figures


async def _send(bot: BotProcess, fake: FakeSlack, load: TeamLoad, channel: str, i: int,
                delay: float) -> tuple[str, str, float]:
    await asyncio.sleep(delay)
    user, trigger = f"U{i:03d}", f"team-{uuid.uuid4().hex}"
    body = slash_command_body(load.text, user_id=user, channel_id=channel, response_url=fake.response_url(channel),
                              trigger_id=trigger)
    sent_at = time.monotonic()
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and answer == "" and elapsed < 3.0, (status, answer, elapsed)
    return run_id_for(Invocation(user, channel, load.text, trigger_id=trigger, team_id="T1")), channel, sent_at


async def _outcome(client: Client, run_id: str) -> ReportOutcome:
    handle = client.get_workflow_handle(f"{run_id}-slack", result_type=ReportOutcome)
    for _ in range(200):
        try:
            return await asyncio.wait_for(handle.result(), 300)
        except Exception as err:  # not started yet (the command's start is still in flight)
            if "not found" not in str(err).lower():
                raise
            await asyncio.sleep(0.1)
    raise AssertionError(f"no reporter for {run_id}")


def is_final(blocks: object) -> bool:
    """A run message in its final state: the outcome shown, no Cancel button left."""
    text = str(blocks)
    return "Finished: " in text and "fanout_cancel" not in text


def tagged(fake: FakeSlack, channel: str, event_type: str, run_id: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == event_type
            and (m.metadata or {}).get("event_payload", {}).get("workflow_id") == run_id]


def posted(attempts: list[ApiCall], event_type: str, run_id: str) -> list[ApiCall]:
    return [a for a in attempts if a.method == "chat.postMessage" and a.status == 200 and not a.error
            and (a.params.get("metadata") or {}).get("event_type") == event_type
            and (a.params.get("metadata") or {}).get("event_payload", {}).get("workflow_id") == run_id]
