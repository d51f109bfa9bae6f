"""App Home: each user's Home tab, published by a small workflow per user, read from Temporal alone.

``HomeWorkflow`` (``<bot queue>.home-of.<user>``) publishes when asked: when the user opens the tab
(``app_home_opened``, a signal-with-start from the bot) and when one of their runs finishes (a signal
from its reporter). Requests coalesce — while a publish is pending, more requests only mark the tab
stale, so a user gets one ``views.publish`` per burst — and publishes run on the views queue, inside
Slack's Tier 4 with every other replica's. The workflow ends after an idle hour.

What the tab shows comes from Temporal, never from bot memory: the user's runs from visibility (the
reporters' search attributes and memo), their progress from the runs' queries, and today's totals for
the workspace from ``DailyStatsWorkflow``. Visibility can count but not sum, so each reporter, when
its run closes, adds the run to its day's statistics workflow (``<bot queue>.stats.<UTC date>``): one
query then answers runs, values and success rate, however many runs the day had. The activities that
publish and count are in bot.home_publish; what the tab looks like in bot.home_view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from bot import queues

IDLE = timedelta(hours=1)


@dataclass
class HomeUser:
    team_id: str
    user_id: str


@dataclass
class RunTotals:
    run_id: str
    values: int
    succeeded: int
    failed: int


@dataclass
class DayTotals:
    day: str  # YYYY-MM-DD, UTC
    runs: int = 0
    values: int = 0
    succeeded: int = 0
    failed: int = 0
    counted: list[str] = field(default_factory=list)  # run ids already counted (a retried signal counts once)

    @property
    def success_rate(self) -> float:
        done = self.succeeded + self.failed
        return self.succeeded / done if done else 0.0


def home_id(workflow_queue: str, user_id: str) -> str:
    return f"{workflow_queue}.home-of.{user_id}"


def stats_id(workflow_queue: str, day: str) -> str:
    return f"{workflow_queue}.stats.{day}"


def utc_day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


@workflow.defn
class HomeWorkflow:
    @workflow.init
    def __init__(self, user: HomeUser) -> None:
        self._stale = True  # being started is a request to publish

    @workflow.run
    async def run(self, user: HomeUser) -> None:
        while True:
            try:
                await workflow.wait_condition(lambda: self._stale, timeout=IDLE)
            except TimeoutError:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._stale:
                    return
            self._stale = False
            await workflow.execute_activity(
                "publish_home", user, task_queue=queues.activity_queue(workflow.info().task_queue, queues.VIEWS),
                start_to_close_timeout=timedelta(seconds=20), schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(user)

    @workflow.signal
    def refresh(self) -> None:
        self._stale = True


@workflow.defn
class DailyStatsWorkflow:
    @workflow.init
    def __init__(self, totals: DayTotals) -> None:
        self._totals = totals

    @workflow.run
    async def run(self, totals: DayTotals) -> DayTotals:
        # Open until the day is over (and an hour more, for runs that close at midnight).
        end = datetime.strptime(self._totals.day, "%Y-%m-%d").replace(tzinfo=UTC) + timedelta(days=1, hours=1)
        while (left := (end - workflow.now()).total_seconds()) > 0:
            try:
                await workflow.wait_condition(workflow.info().is_continue_as_new_suggested, timeout=left)
            except TimeoutError:
                break
            await workflow.wait_condition(workflow.all_handlers_finished)
            workflow.continue_as_new(self._totals)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._totals

    @workflow.signal
    def record(self, run: RunTotals) -> None:
        t = self._totals
        if run.run_id in t.counted:
            return
        t.counted.append(run.run_id)
        t.runs += 1
        t.values += run.values
        t.succeeded += run.succeeded
        t.failed += run.failed

    @workflow.query
    def totals(self) -> DayTotals:
        return DayTotals(self._totals.day, self._totals.runs, self._totals.values, self._totals.succeeded,
                         self._totals.failed)
