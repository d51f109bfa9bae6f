"""One child's story, from its event history: when it started, each attempt's failure with its own message and the
backoff before the next, how it ended; times are offsets from the parent's start.

Two shapes of child, one story:

- The lab's child (and a team's workflow child) is retried by its retry policy: each attempt is a new *run* of the
  same child id, so the last run's history alone shows only the last attempt. Each run's first event names the run
  before it (``continued_execution_run_id``), that run's failure (``continued_failure``), its own attempt and the
  backoff it waited (``first_workflow_task_backoff``): the story walks the chain back from the latest run, one event
  a run, and reads how the latest run ended from its last event. At most ``--retries`` (10) + 1 events, each read
  alone, whatever the histories' sizes.
- A team's activity-backed child (PluginChildWorkflow) is one run whose attempts are activities, with a timer between
  them: one history read, bounded by its attempts.

Retention removes each run on its own clock (its close time plus the namespace's retention), so a retried child's
earliest runs go first: what is left is told, and what is gone is said to be.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent, WorkflowExecutionStartedEventAttributes
from temporalio.client import Client
from temporalio.service import RPCError

from bot.render.details import Story, StoryAttempt, took
from bot.runs.events import first_event, is_not_found, last_event

PLUGIN_CHILD = "PluginChildWorkflow"  # workflows.plugin: a team's activity, its attempts inside one run
MAX_RUNS = 10  # runs walked back at most: --retries allows 10 attempts
E = EventType
ENDINGS = {E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "succeeded", E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
           E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed out",
           E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "cancelled",
           E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
           E.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued as new"}
RETRY_STATES = {RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED: "its last allowed attempt failed",
                RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE: "with an error its retry policy does not retry",
                RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET: "it has no retry policy",
                RetryState.RETRY_STATE_TIMEOUT: "its retries ran out of time"}


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def _failure(failure: Failure) -> tuple[str, str]:
    """A failure's (type, message): an ApplicationError's own type, else the kind of failure."""
    if failure.HasField("application_failure_info"):
        return failure.application_failure_info.type or "ApplicationError", failure.message
    return (failure.WhichOneof("failure_info") or "failure").removesuffix("_failure_info"), failure.message


class Teller:
    """Tells one child's story: the child's id, the run's start (offsets are from it) and the clock."""

    def __init__(self, client: Client, run_id: str, position: int, label: str, parent_start: datetime,
                 now: datetime) -> None:
        self.client, self.run_id, self.label, self.parent_start, self.now = client, run_id, label, parent_start, now
        self.workflow_id = f"{run_id}-c{position}"

    def _at(self, moment: datetime | None) -> float | None:
        return None if moment is None else (moment - self.parent_start).total_seconds()

    async def story(self) -> Story:
        try:
            latest = await first_event(self.client, self.workflow_id)  # the latest run's: retention removes it last
        except RPCError as err:
            if not is_not_found(err):
                raise
            return Story(self.run_id, self.workflow_id, self.label, gone=True)
        started = latest.workflow_execution_started_event_attributes
        if started.workflow_type.name == PLUGIN_CHILD:
            return await self._activities()
        return await self._runs(latest)

    # -- a child retried as new runs of its id ----------------------------------------------------------------

    async def _runs(self, latest: HistoryEvent) -> Story:
        runs = [latest]  # first events, newest first
        gone = False
        previous = latest.workflow_execution_started_event_attributes.continued_execution_run_id
        while previous and len(runs) < MAX_RUNS:
            try:
                event = await first_event(self.client, self.workflow_id, previous)
            except RPCError as err:
                if not is_not_found(err):
                    raise
                gone = True  # retention removed this run and those before it
                break
            runs.append(event)
            previous = event.workflow_execution_started_event_attributes.continued_execution_run_id
        runs.reverse()
        attempts: list[StoryAttempt] = []
        oldest = runs[0].workflow_execution_started_event_attributes
        gone_attempts = oldest.attempt - 1 if gone else 0
        if gone and oldest.HasField("continued_failure"):  # what the oldest run kept recorded of the attempt before
            kind, message = _failure(oldest.continued_failure)
            attempts.append(StoryAttempt(oldest.attempt - 1, None, self._at(_time(runs[0])), "gone", kind, message,
                                         oldest.first_workflow_task_backoff.ToTimedelta().total_seconds()))
        for k, event in enumerate(runs):
            started = event.workflow_execution_started_event_attributes
            began = self._at(_time(event) + started.first_workflow_task_backoff.ToTimedelta())
            if k + 1 < len(runs):  # failed, and retried: the next run was created then, and says why
                after = runs[k + 1].workflow_execution_started_event_attributes
                kind, message = _failure(after.continued_failure)
                attempts.append(StoryAttempt(started.attempt, began, self._at(_time(runs[k + 1])), "failed", kind,
                                             message, after.first_workflow_task_backoff.ToTimedelta().total_seconds()))
        last = runs[-1].workflow_execution_started_event_attributes
        ending = await last_event(self.client, self.workflow_id, last.original_execution_run_id)
        attempt, final = await self._ending(last, runs[-1], ending)
        return Story(self.run_id, self.workflow_id, self.label, attempts=[*attempts, attempt], final=final,
                     gone_attempts=gone_attempts)

    async def _ending(self, started: WorkflowExecutionStartedEventAttributes, first: HistoryEvent,
                      ending: HistoryEvent) -> tuple[StoryAttempt, str]:
        """The latest run's attempt, and how the child ended (or where it is)."""
        began_at = _time(first) + started.first_workflow_task_backoff.ToTimedelta()
        began = self._at(began_at)
        outcome = ENDINGS.get(ending.event_type)
        if outcome is None:  # still open
            if ending.event_id == 1 and began_at > self.now:  # its first task waits out the backoff
                return (StoryAttempt(started.attempt, began, outcome="waiting"),
                        f"waiting to retry: attempt {started.attempt} is due at {_offset(began)}")
            return StoryAttempt(started.attempt, began), f"still running attempt {started.attempt}"
        ended = self._at(_time(ending))
        after = f" {took((ended or 0) - (began or 0))} after it began" if began is not None else ""
        if outcome == "succeeded":
            result = await self._result(ending.workflow_execution_completed_event_attributes.result.payloads)
            return (StoryAttempt(started.attempt, began, ended, outcome, result=result),
                    f"succeeded on attempt {started.attempt},{after}")
        kind = message = ""
        why = ""
        if outcome == "failed":
            failed = ending.workflow_execution_failed_event_attributes
            kind, message = _failure(failed.failure)
            why = RETRY_STATES.get(failed.retry_state, "")
        elif outcome == "terminated":
            message = ending.workflow_execution_terminated_event_attributes.reason
        attempt = StoryAttempt(started.attempt, began, ended, outcome, kind, message)
        return attempt, f"{outcome} on attempt {started.attempt}" + (f": {why}" if why else "")

    async def _result(self, payloads: Any) -> Any:
        """A child's result: the lab's ChildOutput carries it with its value and attempt; a team's workflow returns
        it alone."""
        if not payloads:
            return None
        [value] = await self.client.data_converter.decode(payloads)
        if isinstance(value, dict) and {"value", "result"} <= set(value):
            return value["result"]
        return value

    # -- a team's activity-backed child: one run, an activity per attempt ---------------------------------------

    async def _activities(self) -> Story:
        events = [e async for e in self.client.get_workflow_handle(self.workflow_id).fetch_history_events()]
        attempts: list[StoryAttempt] = []
        by_scheduled: dict[int, int] = {}  # ActivityTaskScheduled event id -> index in attempts
        for event in events:
            kind = event.event_type
            if kind == E.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                by_scheduled[event.event_id] = len(attempts)
                attempts.append(StoryAttempt(len(attempts) + 1, self._at(_time(event))))
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                k = by_scheduled[event.activity_task_started_event_attributes.scheduled_event_id]
                attempts[k] = replace(attempts[k], began_s=self._at(_time(event)))
            elif kind in (E.EVENT_TYPE_ACTIVITY_TASK_FAILED, E.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT):
                failed = (event.activity_task_failed_event_attributes if kind == E.EVENT_TYPE_ACTIVITY_TASK_FAILED
                          else event.activity_task_timed_out_event_attributes)
                k = by_scheduled[failed.scheduled_event_id]
                error_kind, message = _failure(failed.failure)
                outcome = "failed" if kind == E.EVENT_TYPE_ACTIVITY_TASK_FAILED else "timed out"
                attempts[k] = replace(attempts[k], ended_s=self._at(_time(event)), outcome=outcome,
                                      error_kind=error_kind, message=message)
            elif kind == E.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done = event.activity_task_completed_event_attributes
                k = by_scheduled[done.scheduled_event_id]
                attempts[k] = replace(attempts[k], ended_s=self._at(_time(event)), outcome="succeeded",
                                      result=await self._result(done.result.payloads))
            elif kind == E.EVENT_TYPE_TIMER_STARTED and attempts:  # the backoff before the next attempt
                timeout = event.timer_started_event_attributes.start_to_fire_timeout.ToTimedelta()
                attempts[-1] = replace(attempts[-1], backoff_s=timeout.total_seconds())
        ending = ENDINGS.get(events[-1].event_type) if events else None
        if ending is None:
            waiting = attempts and attempts[-1].outcome == "failed" and attempts[-1].backoff_s is not None
            final = (f"waiting to retry: attempt {len(attempts) + 1} follows its backoff" if waiting
                     else f"still running attempt {len(attempts)}")
        else:
            final = f"{ending} after {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}"
        return Story(self.run_id, self.workflow_id, self.label, activities=True, attempts=attempts, final=final)


def _offset(seconds: float | None) -> str:
    return "?" if seconds is None else f"+{seconds:,.3f} s"
