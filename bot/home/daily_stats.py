"""Today's totals for the workspace (UTC), for the App Home: one ``DailyStatsWorkflow`` per day
(``<bot queue>.stats.<UTC date>``). Visibility can count runs but not sum their values, so each reporter, when
its run closes, adds the run to its day's workflow (``record_stats``, a signal-with-start); one query then
answers runs, values and success rate, however many runs the day had.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

QUERY_TIMEOUT = timedelta(seconds=3)


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


def stats_id(workflow_queue: str, day: str) -> str:
    return f"{workflow_queue}.stats.{day}"


def utc_day(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d")


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


@activity.defn
async def record_stats(run: RunTotals) -> None:
    """Add a closed run to its day's statistics (signal-with-start: the first run of a day starts them)."""
    info = activity.info()
    day = utc_day(datetime.now(UTC))
    await activity.client().start_workflow(
        DailyStatsWorkflow.run, DayTotals(day), id=stats_id(info.task_queue, day), task_queue=info.task_queue,
        start_signal="record", start_signal_args=[run], id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)


async def today(client: Client, workflow_queue: str) -> DayTotals:
    """Today's totals for the workspace (all zero before its first run closes)."""
    day = utc_day(datetime.now(UTC))
    try:
        return await client.get_workflow_handle(stats_id(workflow_queue, day)).query(
            DailyStatsWorkflow.totals, rpc_timeout=QUERY_TIMEOUT)
    except RPCError:
        return DayTotals(day)
