"""ReporterWorkflow: a run's life in Slack, as durable Temporal work, in one class.

The bot starts ``<run id>-slack`` on its own task queue (bot.queues). The reporter starts the run,
the lab's ParentWorkflow ``<run id>``, as its child on the fan-out task queue, and makes every
Slack call that follows the command's acknowledgement as an activity (bot.reporting.activities): the run
message, progress edits, the summary, the final edit, the timeline and the CSV. Its history records
what was posted (a message's ts is its activity's result), so each happens exactly once however
many bot replicas run, crash or restart; the ParentWorkflow never sees Slack.

Reading top to bottom: the run's life (``run``); a run that waits for people first (``--approve``:
``_ask_approval`` and the ``decide`` update, whose validator holds the rule of who may decide); the run and
its cancel (``cancel``, an update); what is posted; and how each Slack call is made (``_slack``).

Edits never crowd out what matters: at most one is pending per run; they are spaced wider as a run
ages (a run of a week makes ~200) and when Slack's edit budget is busy; the summary and the final
edit go ahead of them (task queue priority); a pending edit is dropped at close and the final edit
waits only for the one in flight, so no stale edit lands after it.

Each Slack call is an activity on its group's rate-limited task queue (bot.queues), with options for bots that
may be down for hours. A Slack error that no retry can fix stops the run's reporting, and says why: in the
reporter's state, and, when the channel cannot be posted in, to the run's starter in one direct message (a
schedule's run also pauses the schedule).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import Priority, RetryPolicy
from temporalio.exceptions import (
    ActivityError,
    ApplicationError,
    CancelledError,
    ChildWorkflowError,
    TerminatedError,
    WorkflowAlreadyStartedError,
)
from temporalio.exceptions import TimeoutError as TemporalTimeout
from temporalio.workflow import ActivityCancellationType, ParentClosePolicy

from workflows.signals import tell

with workflow.unsafe.imports_passed_through():
    from bot import queues
    from bot.files.csv_file import wants_csv
    from bot.home.daily_stats import RunTotals, record_stats
    from bot.home.tab import home_id
    from bot.render.run import pictured
    from bot.reporting.activities import SlackReport, pause_schedule
    from bot.reporting.payloads import (
        Approval,
        CancelRun,
        Decision,
        EditOutcome,
        EditProgress,
        NotifyStarter,
        PauseSchedule,
        PostResult,
        PostRunMessage,
        ReportInput,
        ReportOutcome,
        Step,
        StepOutcome,
    )
    from bot.runs.info import RunInfo, run_id_of, ui_url
    from runtime.search_attributes import STATUS
    from workflows.model import FanoutResult, Progress

EDITS_MAX = 500  # progress edits per run, at most (each is ~11 history events)

HOME_AND_STATS = "home-and-stats"  # patch: the message ts in the memo, today's totals and the Home tab at close
# patch: the run stops counting against its starter's cap once its summary is out (the final edit and the files
# follow), not when its reporter is done: a run that shows "Finished" is not "going".
RELEASE_AT_SUMMARY = "release-at-summary"
# patch: a file is uploaded only where the run's thread wants it (a timeline picture for runs of at least
# TIMELINE_MIN_CHILDREN children, a CSV above CSV_MIN_VALUES values); before, each upload ran and skipped itself.
FILES_WANTED = "files-wanted"

# Results the reporter makes up for a run that ended in Temporal without one, or never ran.
ENDED_STATUSES = ("terminated", "timed_out", "failed", "canceled", "not_started", "rejected", "expired",
                  "withdrawn")


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


def edit_interval(age_s: float, base_s: float, queue_wait_s: float) -> float:
    """Seconds until a run's next progress edit: ``base_s`` while it is young, then a twentieth of its
    age (so a run of a week makes ~200 edits), and never sooner than 4x what the last edit waited for
    Slack's budget (when the workspace is busy every run backs off, and the queue stays short)."""
    return max(base_s, age_s / 20.0, 4.0 * queue_wait_s)


@workflow.defn
class ReporterWorkflow:
    @workflow.init
    def __init__(self, input: ReportInput) -> None:
        # Set here, not in run(): an update may be handled before run() begins. A schedule's firing names
        # its run after itself (bot.runs.info.run_id_of).
        self._run_id = input.run.workflow_id or run_id_of(workflow.info().workflow_id)
        self._queue = workflow.info().task_queue
        self._child_started = False
        self._run_done = False
        self._cancelled_by = ""
        self._stopped = ""  # why Slack reporting ended early ("" while it goes on)
        self._last_progress: Progress | None = None
        self._starter = input.run.user_id
        self._approvers = list(input.approval.approvers) if input.approval else []
        self._waiting = False  # for an approval
        self._decision: Decision | None = None

    @workflow.run
    async def run(self, input: ReportInput) -> ReportOutcome:
        run = input.run
        if not run.workflow_id:
            run = replace(run, workflow_id=self._run_id,
                          ui_url=ui_url(input.ui_base, workflow.info().namespace, self._run_id))
        await self._tell_quota(input.quota_id, "confirm")
        result: FanoutResult | None = None  # a run that never ran (rejected, expired, withdrawn) has one now
        if input.approval is not None:
            run, result = await self._ask_approval(input.approval, run)
        if result is None:
            fanout = asyncio.create_task(self._fanout(input))
            if not run.message_ts:
                run = await self._announce(run)
            if run.message_ts:
                await self._follow_progress(fanout, run, input.progress_interval_s,
                                            at_once=input.approval is not None)
            result = await fanout
        self._run_done = True
        workflow.upsert_search_attributes([STATUS.value_set(result.status)])
        workflow.upsert_memo({"success_count": result.success_count, "failure_count": result.failure_count,
                              "total": result.total_children, "success_rate": result.success_rate,
                              "wall_s": result.wall_s, "slack_thread_ts": run.thread_ts})
        counted = workflow.patched(HOME_AND_STATS)
        if counted:
            await self._count(run, result)
        summary_ts = ""
        reported = bool(run.message_ts) and not self._stopped
        if reported:
            summary_ts = await self._slack(SlackReport.post_summary, PostResult(run, result), queues.POSTS) or ""
        released = workflow.patched(RELEASE_AT_SUMMARY)
        if released:
            await self._tell_quota(input.quota_id, "release")
        if reported and not self._stopped:
            await self._finish_report(PostResult(run, result))
        if not released:
            await self._tell_quota(input.quota_id, "release")
        if counted:
            await self._show_home(run)
        if input.step is not None:
            await self._complete_step(input.step, run, result, summary_ts)
        return ReportOutcome(status=result.status, message_ts=run.message_ts, summary_ts=summary_ts,
                             stopped=self._stopped, success_count=result.success_count,
                             failure_count=result.failure_count, total=result.total_children)

    # -- a run that waits for an approval ----------------------------------------------------------

    async def _ask_approval(self, approval: Approval, run: RunInfo) -> tuple[RunInfo, FanoutResult | None]:
        """Post the run as waiting, and wait durably for a decision (``decide``) or the timeout. Returns the
        run (approved: with who and when) and None to go on, or the result of a run that never ran."""
        until = workflow.now() + timedelta(seconds=approval.timeout_s)
        self._waiting = True
        workflow.upsert_search_attributes([STATUS.value_set("waiting")])
        run = await self._announce(run, waiting_until=until.isoformat(), approvers=approval.approvers)
        try:
            await workflow.wait_condition(lambda: self._decision is not None or bool(self._cancelled_by),
                                          timeout=approval.timeout_s)
        except TimeoutError:  # asyncio's: nobody decided in time
            pass
        self._waiting = False
        decision = self._decision
        if decision is None or not decision.approve:
            status = "withdrawn" if self._cancelled_by else "expired" if decision is None else "rejected"
            result = self._stand_in(run, status)
            result.cancelled_by = self._cancelled_by or (decision.user_id if decision else "")
            return run, result
        workflow.upsert_search_attributes([STATUS.value_set("running")])
        return replace(run, approved_by=decision.user_id, approved_at=workflow.now().isoformat()), None

    @workflow.update
    def decide(self, decision: Decision) -> str:
        """Approve or reject a run waiting for it. The validator holds the rule: someone other than the
        starter, and one of the approvers when the setting names them (FANOUT_APPROVERS)."""
        self._may_decide(decision)  # again: decisions that arrive together are all validated first
        self._decision = decision
        key = "approved_by" if decision.approve else "rejected_by"
        workflow.upsert_memo({key: decision.user_id, "decided_at": workflow.now().isoformat()})
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _may_decide(self, decision: Decision) -> None:
        if not self._waiting or self._decision is not None or self._cancelled_by:
            raise ApplicationError("the run is not waiting for a decision", type="NotWaiting")
        if decision.user_id == self._starter:
            raise ApplicationError("the starter of a run cannot approve it", type="OwnRun")
        if self._approvers and decision.user_id not in self._approvers:
            raise ApplicationError(",".join(self._approvers), type="NotAnApprover")

    # -- the run ----------------------------------------------------------------------------------

    async def _fanout(self, input: ReportInput) -> FanoutResult:
        """The run's result, or a stand-in for a run that ended without one (or never started)."""
        try:
            return await self._run_fanout(input)
        finally:
            self._run_done = True

    async def _run_fanout(self, input: ReportInput) -> FanoutResult:
        try:
            handle = await workflow.start_child_workflow(
                "ParentWorkflow", input.request, id=self._run_id, task_queue=input.fanout_task_queue,
                result_type=FanoutResult, parent_close_policy=ParentClosePolicy.REQUEST_CANCEL)
        except WorkflowAlreadyStartedError:  # the id is taken by a workflow that is not ours: never touch it
            workflow.logger.warning("Run %s not started: its id is taken", self._run_id)
            return self._stand_in(input.run, "not_started")
        self._child_started = True
        try:
            return await handle  # type: ignore[no-any-return]
        except ChildWorkflowError as err:
            return self._stand_in(input.run, _ended_status(err.cause))

    @workflow.update
    async def cancel(self, request: CancelRun) -> str:
        """Cancel the run on behalf of ``request.user_id`` (the bot checked they may). The run keeps
        what finished and reports a partial result; the ParentWorkflow records who asked."""
        self._cancelled_by = request.user_id
        workflow.upsert_memo({"cancelled_by": request.user_id})
        if self._waiting:  # withdrawn before anyone approved it: it never runs
            return "cancelling"
        await workflow.wait_condition(lambda: self._child_started or self._run_done)
        if self._run_done:
            return "finished"
        if not await tell(self._run_id, "request_cancel", request.user_id):
            return "finished"  # it closed meanwhile
        return "cancelling"

    @cancel.validator
    def _cancel_allowed(self, request: CancelRun) -> None:
        # A rejection is not written to history; the bot tells the user why.
        if self._run_done:
            raise ApplicationError("the run has finished", type="RunFinished")
        if self._cancelled_by:
            raise ApplicationError(self._cancelled_by, type="AlreadyCancelling")

    # -- what is posted ----------------------------------------------------------------------------

    async def _announce(self, run: RunInfo, *, waiting_until: str = "", approvers: list[str] | None = None) -> RunInfo:
        ts = await self._slack(SlackReport.post_run_message, PostRunMessage(run, waiting_until, approvers or []),
                               queues.POSTS)
        if not ts:
            return run
        run = replace(run, message_ts=ts, thread_ts=run.thread_ts or ts)
        if workflow.patched(HOME_AND_STATS):  # where the run is in Slack: the App Home links its thread
            workflow.upsert_memo({"slack_message_ts": run.message_ts, "slack_thread_ts": run.thread_ts})
        return run

    async def _count(self, run: RunInfo, result: FanoutResult) -> None:
        """The closed run counts in today's totals (bot.home) — before its summary, so the totals are
        current by the time anyone reads it."""
        try:
            await workflow.execute_activity(
                record_stats, RunTotals(self._run_id, result.total_children, result.success_count,
                                        result.failure_count),
                task_queue=self._queue, start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=GIVE_UP_AFTER, retry_policy=RETRY)
        except ActivityError as err:
            workflow.logger.warning("Run %s not counted in today's totals: %s", self._run_id, err)

    async def _show_home(self, run: RunInfo) -> None:
        """Its starter's Home tab shows it finished (if they have had it open lately)."""
        if not run.user_id:
            return
        # No Home tab open for them lately: it is drawn afresh when they open it.
        await tell(home_id(self._queue, run.user_id), "refresh")

    async def _follow_progress(self, fanout: asyncio.Task[Any], run: RunInfo, base_s: float,
                               at_once: bool = False) -> None:
        started = workflow.now()
        edit_input = EditProgress(run, started_at=started.timestamp())
        queue_wait = 0.0
        if at_once:  # just approved: the message stops offering Approve and Reject now
            await self._slack(SlackReport.edit_progress,
                              EditProgress(run, started.timestamp(), even_without_progress=True), queues.EDITS)
        for _ in range(EDITS_MAX):
            age = (workflow.now() - started).total_seconds()
            try:
                await workflow.wait_condition(fanout.done, timeout=edit_interval(age, base_s, queue_wait))
            except TimeoutError:  # asyncio's: the interval passed
                pass
            if fanout.done() or self._stopped:
                return
            edit = self._start_slack(SlackReport.edit_progress, edit_input, queues.EDITS, priority=LAST,
                                     cancellation=ActivityCancellationType.WAIT_CANCELLATION_COMPLETED)
            await workflow.wait([fanout, edit], return_when=asyncio.FIRST_COMPLETED)
            if not edit.done():
                edit.cancel()  # the run closed: a pending edit is dropped, one in flight is waited for
            try:
                outcome: EditOutcome = await edit
            except ActivityError as err:
                if isinstance(err.cause, CancelledError):
                    return
                await self._stop_on(err, run)
                return  # the message is gone, or reporting stopped: no more edits
            except asyncio.CancelledError:
                return
            if outcome.progress is not None:
                self._last_progress = outcome.progress
            queue_wait = outcome.queue_wait_s

    async def _finish_report(self, posted: PostResult) -> None:
        """After the summary: the final edit, then the files, one Slack call at a time for this run."""
        await self._slack(SlackReport.final_edit, posted, queues.EDITS)
        if posted.result.status in ENDED_STATUSES:
            return
        only_wanted = workflow.patched(FILES_WANTED)
        for upload, wanted in ((SlackReport.upload_timeline, pictured), (SlackReport.upload_csv, wants_csv)):
            if self._stopped:
                break
            if only_wanted and not wanted(posted.result):
                continue
            await self._slack(upload, posted, queues.UPLOADS, priority=Priority(), optional=True)

    async def _complete_step(self, step: Step, run: RunInfo, result: FanoutResult, summary_ts: str) -> None:
        """The Workflow Builder step that started the run completes with its outcome (functions.*)."""
        error = "the run could not start" if result.status == "not_started" else ""
        outcome = StepOutcome(step, run, result, error=error, summary_ts=summary_ts)
        try:
            await self._start_slack(SlackReport.complete_step, outcome, queues.STEPS,
                                    retry=replace(RETRY, maximum_attempts=20))
        except ActivityError as err:
            workflow.logger.warning("Step of %s not completed: %s", self._run_id, err)

    async def _tell_quota(self, quota_id: str, signal: str) -> None:
        if not quota_id:
            return
        await tell(quota_id, signal, self._run_id)  # the quota workflow may have gone (idle): nothing to tell

    # -- how each Slack call is made ---------------------------------------------------------------

    def _activity_queue(self, group: str) -> str:
        return queues.activity_queue(self._queue, group)

    def _start_slack(self, method: Any, arg: Any, group: str, *, priority: Priority = FIRST,
                     retry: RetryPolicy = RETRY,
                     cancellation: ActivityCancellationType = ActivityCancellationType.TRY_CANCEL
                     ) -> workflow.ActivityHandle[Any]:
        upload = group == queues.UPLOADS
        if group == queues.POSTS:  # Slack paces posts per channel: the channel is the post's fairness key (bot.queues)
            to = arg.run.user_id if isinstance(arg, NotifyStarter) else arg.run.channel_id  # a DM: its user
            priority = replace(priority, fairness_key=to)
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

    def _stand_in(self, run: RunInfo, status: str) -> FanoutResult:
        """A result for a run that ended in Temporal without one (terminated, timed out, failed), from
        the last progress its edits saw, so the thread still says how it ended."""
        p = self._last_progress
        total = p.total if p else run.value_count
        succeeded, failed = (p.succeeded, p.failed) if p else (0, 0)
        return FanoutResult(
            total_children=total, successful_results=[], failed_children=[], success_count=succeeded,
            failure_count=failed, success_rate=succeeded / total if total else 0.0,
            cancelled_count=total - succeeded - failed, status=status, sequential=run.sequential,
            batch_size=run.batch_size, wall_s=p.elapsed_s if p else 0.0, results_complete=False,
            cancelled_by=self._cancelled_by,
        )


def _ended_status(cause: BaseException | None) -> str:
    if isinstance(cause, TerminatedError):
        return "terminated"
    if isinstance(cause, TemporalTimeout):
        return "timed_out"
    if isinstance(cause, CancelledError):
        return "canceled"
    if isinstance(cause, ApplicationError) and cause.type == "RunEnded" and cause.details:
        return str(cause.details[0])
    return "failed"
