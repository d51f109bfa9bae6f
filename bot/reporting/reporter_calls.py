"""How ReporterWorkflow (bot.reporting.reporter) calls Slack: a mixin. Each call is an activity
(bot.reporting.activities) on its group's rate-limited task queue (bot.queues), with options for bots that may
be down for hours. A Slack error that no retry can fix stops the run's reporting, and says why: in the
reporter's state, and, when the channel cannot be posted in, to the run's starter in one direct message (a
schedule's run also pauses the schedule).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeout
from temporalio.workflow import ActivityCancellationType

with workflow.unsafe.imports_passed_through():
    from bot import queues
    from bot.reporting.activities import SlackReport, pause_schedule
    from bot.reporting.payloads import NotifyStarter, PauseSchedule
    from bot.runs.info import RunInfo

# Activity options. Bots may be down for hours: no schedule-to-start timeout, retries no more than
# 10 s apart (a returning bot reports within seconds), and a day before reporting gives up.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(seconds=10))
GIVE_UP_AFTER = timedelta(hours=24)
CALL = timedelta(seconds=15)  # start-to-close of one Slack call (slack_sdk's HTTP timeout is 5 s)
UPLOAD = timedelta(minutes=10)  # building and uploading a file: heartbeats every few seconds
UPLOAD_HEARTBEAT = timedelta(seconds=30)
FIRST = Priority(priority_key=1)  # run messages, summaries, final edits: ahead of any progress edit
LAST = Priority(priority_key=5)  # progress edits


class CallsSlack:
    if TYPE_CHECKING:  # set by ReporterWorkflow.__init__
        _run_id: str
        _queue: str
        _stopped: str

    def _activity_queue(self, group: str) -> str:
        return queues.activity_queue(self._queue, group)

    def _start_slack(self, method: Any, arg: Any, group: str, *, priority: Priority = FIRST,
                     retry: RetryPolicy = RETRY,
                     cancellation: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL
                     ) -> workflow.ActivityHandle[Any]:
        upload = group == queues.UPLOADS
        return workflow.start_activity_method(
            method, arg, task_queue=self._activity_queue(group), priority=priority, retry_policy=retry,
            start_to_close_timeout=UPLOAD if upload else CALL, schedule_to_close_timeout=GIVE_UP_AFTER,
            heartbeat_timeout=UPLOAD_HEARTBEAT if upload else None, cancellation_type=cancellation)

    async def _slack(self, method: Any, arg: Any, group: str, *, priority: Priority = FIRST,
                     optional: bool = False) -> Any:
        """One Slack call; a Slack error that no retry can fix stops the run's reporting (recorded) — for an
        ``optional`` call (a file) only if the channel is gone: otherwise that file is skipped."""
        try:
            return await self._start_slack(method, arg, group, priority=priority)
        except ActivityError as err:
            cause = err.cause
            if optional and not (isinstance(cause, ApplicationError) and cause.type == "SlackChannelUnavailable"):
                workflow.logger.warning("Skipped a file of %s: %s", self._run_id, cause)
                return None
            await self._stop_on(err, arg.run)
            return None

    async def _stop_on(self, err: ActivityError, run: RunInfo) -> None:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "SlackMessageGone":
            return  # the run message was deleted: edits end, the summary still goes to the thread
        if isinstance(cause, TemporalTimeout):
            self._stopped = "gave up after 24 h"
        elif isinstance(cause, ApplicationError) and cause.type == "SlackChannelUnavailable":
            self._stopped = cause.message
        else:
            self._stopped = f"{type(cause).__name__}: {cause}"
        workflow.logger.warning("Reporting of %s stopped: %s", self._run_id, self._stopped)
        if isinstance(cause, ApplicationError) and cause.type == "SlackChannelUnavailable":
            if run.schedule_id:  # a schedule's channel: pause it rather than fail at every firing
                await self._pause_schedule(run.schedule_id)
            await self._notify_starter(run)  # e.g. not_in_channel: one direct message, then silence

    async def _notify_starter(self, run: RunInfo) -> None:
        """The one direct message to who started a run the bot cannot post about, saying how to fix it."""
        if not run.user_id:
            return
        try:
            await self._start_slack(SlackReport.notify_starter, NotifyStarter(run, self._stopped), queues.POSTS,
                                    retry=replace(RETRY, maximum_attempts=5))
        except ActivityError as err:
            workflow.logger.warning("Could not tell %s why %s is not reported: %s", run.user_id, self._run_id, err)

    async def _pause_schedule(self, schedule_id: str) -> None:
        try:
            await workflow.execute_activity(
                pause_schedule, PauseSchedule(schedule_id, f"its channel cannot be posted in: {self._stopped}"),
                task_queue=self._queue, start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=GIVE_UP_AFTER, retry_policy=RETRY)
        except ActivityError as err:
            workflow.logger.warning("Schedule %s not paused: %s", schedule_id, err)
