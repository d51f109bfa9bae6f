"""RunReporter and watch_run against a stand-in workflow handle (the parts the dev server cannot easily stage:
Temporal dropping out mid-run, a bot shutting down mid-run) and the real slack_sdk client on the fake Slack."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import TerminatedError, TimeoutError, TimeoutType
from temporalio.service import RPCError, RPCStatusCode

from bot.devslack import FakeSlack
from bot.lifecycle import RunReporter
from bot.runs import RunInfo
from bot.watch import watch_run
from workflows.model import FanoutResult, Progress, SuccessfulResult

NEVER = object()


class StubHandle:
    """Just what the watch uses of a WorkflowHandle: ``id``, ``result()`` and the progress ``query``."""

    def __init__(self, *outcomes: Any, progress: Progress | None = None, result_after_s: float = 0.0) -> None:
        self.id = "fanout-stub"
        self.outcomes = list(outcomes)  # one per result() call: a FanoutResult, an exception, or NEVER
        self.progress = progress or Progress(total=2, running=2)
        self.result_after_s = result_after_s
        self.result_calls = 0
        self.queries = 0

    async def result(self, **_: Any) -> FanoutResult:
        self.result_calls += 1
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if outcome is NEVER:
            await asyncio.Event().wait()
        await asyncio.sleep(self.result_after_s)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome  # type: ignore[no-any-return]

    async def query(self, *_: Any, **__: Any) -> Progress:
        self.queries += 1
        return self.progress


def ok_result() -> FanoutResult:
    return FanoutResult(total_children=2, successful_results=[SuccessfulResult(1, 2), SuccessfulResult(3, 6)],
                        failed_children=[], success_count=2, failure_count=0, success_rate=1.0)


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, AsyncWebClient]]:
    async with FakeSlack() as fake:
        yield fake, AsyncWebClient(token=fake.bot_token, base_url=fake.base_url)


async def announced(reporter: RunReporter, workflow_id: str = "fanout-stub") -> RunInfo:
    run = RunInfo(workflow_id=workflow_id, user_id="U1", channel_id="C1", text="1 3", value_count=2, batch_size=1,
                  child_workflow_count=2, ui_url="http://localhost:8233/x")
    return await reporter.announce(run)


def thread(fake: FakeSlack, run: RunInfo) -> list[Any]:
    return fake.thread(run.channel_id, run.message_ts)


async def test_temporal_dropping_out_is_waited_out_and_one_summary_follows(slack) -> None:
    fake, client = slack
    reporter = RunReporter(client, progress_interval_s=0.05)
    run = await announced(reporter)
    handle = StubHandle(RPCError("connection refused", RPCStatusCode.UNAVAILABLE, b""), ok_result())
    await asyncio.wait_for(reporter.follow(run, handle), 10)  # type: ignore[arg-type]
    assert handle.result_calls == 2
    [summary] = thread(fake, run)
    assert summary.metadata["event_payload"]["success_count"] == 2 and "All 2 succeeded" in str(summary.blocks)


@pytest.mark.parametrize(("cause", "status", "words"), [
    (TerminatedError("Workflow execution terminated"), "terminated", "Run terminated in Temporal"),
    (TimeoutError("timed out", type=TimeoutType.START_TO_CLOSE, last_heartbeat_details=[]), "timed_out",
     "Run timed out in Temporal"),
])
async def test_a_run_ending_without_a_result_is_said_in_the_thread(slack, cause, status, words) -> None:
    fake, client = slack
    reporter = RunReporter(client, progress_interval_s=0.05)
    run = await announced(reporter)
    handle = StubHandle(WorkflowFailureError(cause=cause), progress=Progress(total=2, succeeded=1, running=1),
                        result_after_s=0.3)
    await asyncio.wait_for(reporter.follow(run, handle), 10)  # type: ignore[arg-type]
    [ended] = thread(fake, run)
    payload = ended.metadata["event_payload"]
    assert payload["status"] == status and payload["success_count"] == 1 and payload["cancelled_count"] == 1
    assert words in str(ended.blocks) and "fanout_retry" not in str(ended.blocks)
    message = fake.messages("C1")[0]
    assert words in str(message.blocks) and "fanout_cancel" not in str(message.blocks)


async def test_drain_lets_finishing_runs_report_and_stops_following_the_rest(slack) -> None:
    fake, client = slack
    reporter = RunReporter(client, progress_interval_s=0.05)
    # distinct runs: the reporter follows one run id once
    finishing, stuck = await announced(reporter, "fanout-finishing"), await announced(reporter, "fanout-stuck")
    reporter.follow(finishing, StubHandle(ok_result(), result_after_s=0.1))  # type: ignore[arg-type]
    stuck_task = reporter.follow(stuck, StubHandle(NEVER))  # type: ignore[arg-type]
    started = time.monotonic()
    await reporter.drain(timeout_s=0.5)
    assert time.monotonic() - started < 2.0
    assert len(thread(fake, finishing)) == 1 and not thread(fake, stuck)
    assert stuck_task.cancelled() and not reporter._tasks


async def test_watch_reports_changes_and_refreshes_unchanged_progress_every_few_intervals() -> None:
    reported: list[float] = []
    handle = StubHandle(NEVER, progress=Progress(total=3, running=3))

    async def on_progress(progress: Progress) -> None:
        reported.append(time.monotonic())

    task = asyncio.ensure_future(watch_run(handle, on_progress, interval_s=0.05, refresh_every=4))  # type: ignore[arg-type]
    await asyncio.sleep(1.0)
    task.cancel()
    # Unchanged progress: the first tick reports, then one in every four ticks.
    assert handle.queries >= 8 and 1 + (handle.queries - 1) // 4 == len(reported)
    assert all(b - a >= 0.05 * 4 for a, b in zip(reported, reported[1:], strict=False))


async def test_elapsed_time_moves_on_the_run_message_while_progress_stands_still(slack) -> None:
    fake, client = slack
    reporter = RunReporter(client, progress_interval_s=0.05)
    run = await announced(reporter)
    reporter.follow(run, StubHandle(NEVER, progress=Progress(total=2, running=2, elapsed_s=0.0)))  # type: ignore[arg-type]
    await fake.wait_for(lambda: len(fake.calls_to("chat.update")) >= 3, timeout=5)
    await reporter.drain(timeout_s=0)
    shown = [re.search(r"([\d.]+) s elapsed", str(c.params["blocks"]))[1] for c in fake.calls_to("chat.update")]
    assert len(set(shown)) == len(shown) and float(shown[-1]) > float(shown[0]), shown


async def test_a_run_is_followed_once_however_often_it_is_handed_over(slack) -> None:
    fake, client = slack
    reporter = RunReporter(client, progress_interval_s=0.05)
    run = await announced(reporter, "fanout-twice")
    first = reporter.follow(run, StubHandle(ok_result(), result_after_s=0.2))  # type: ignore[arg-type]
    again = reporter.follow(run, StubHandle(ok_result()), adopted=True)  # type: ignore[arg-type]
    assert again is first and reporter.is_following("fanout-twice")
    await first
    assert len(thread(fake, run)) == 1 and not reporter.is_following("fanout-twice")
