"""A team's own child types: the plugin API, and the child workflow that runs an activity-backed one.

A package adds child types through the entry point group ``fanout.children``, each naming a ``ChildType``
(docs/plugins.md). A child type is either

- an **activity** (``@activity.defn async def f(value: int) -> JSON``): the project runs it inside a
  ``PluginChildWorkflow`` per value, so every value is still a child workflow the UI shows, with
  ``--retries`` as its attempts (one activity attempt each, so the run knows which one succeeded); or
- a **workflow** (``@workflow.defn`` whose run takes the value and returns JSON), started per value.

Either fails with its own message: raise ``ApplicationError("...", type="YourKind")`` (or any exception).
A result is JSON of at most MAX_RESULT_BYTES (refused beyond it as a ``ResultTooLarge`` failure), so the
results of a run's children never break Temporal's 2 MB payload limit. Each child type has its own task
queue, ``<fan-out queue>.child.<name>``: only workers that have the plugin poll it.
"""

# No `from __future__ import annotations` here: the sandbox re-imports this module for every child run.
import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.fanin import result_problem
from workflows.model import (
    MAX_RESULT_BYTES,
    RETRY_BACKOFF,
    RETRY_INITIAL_INTERVAL,
    BatchOutput,
    ChildOutput,
    PluginBatchInput,
    PluginInput,
)

__all__ = ["MAX_RESULT_BYTES", "ChildType", "PluginBatchWorkflow", "PluginChildWorkflow", "result_problem"]

ACTIVITY_TIMEOUT = timedelta(minutes=5)  # one attempt of a plugin's activity
MAX_BATCH = 1000  # values per batch of a team's type: its results stay within 1 MB of JSON
MAX_PENDING_ACTIVITIES = 200  # a batch's activities going at once


@dataclass(frozen=True)
class ChildType:
    """One child type a plugin adds: ``name`` (what ``--child`` takes), a one-line ``description``, and
    exactly one of ``activity`` or ``workflow``."""

    name: str
    description: str
    activity: Callable[..., Any] | None = None
    workflow: type | None = None


async def attempt_value(activity: str, value: int, max_attempts: int) -> ChildOutput:
    """One value of an activity-backed type: up to ``max_attempts`` activity attempts with the lab's backoff
    (one attempt per activity, so the attempt that succeeded is known); its result, or its own last error
    (non-retryable, with the attempt it failed on)."""
    interval = RETRY_INITIAL_INTERVAL.total_seconds()
    last = max(max_attempts, 1)
    for attempt in range(1, last + 1):
        try:
            result = await workflow.execute_activity(
                activity, value, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RetryPolicy(maximum_attempts=1))
        except ActivityError as err:
            cause = err.cause
            if attempt == last or (isinstance(cause, ApplicationError) and cause.non_retryable):
                message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                kind = (cause.type if isinstance(cause, ApplicationError) else None) or type(cause or err).__name__
                raise ApplicationError(message, {"attempt": attempt}, type=kind, non_retryable=True) from None
            await workflow.sleep(interval)
            interval *= RETRY_BACKOFF
            continue
        problem = result_problem(result)
        if problem:
            raise ApplicationError(problem, {"attempt": attempt}, type="ResultTooLarge", non_retryable=True)
        return ChildOutput(value, result, attempt)
    raise AssertionError("unreachable")


@workflow.defn
class PluginChildWorkflow:
    """One value of an activity-backed child type, in a child workflow of its own (per-value runs)."""

    @workflow.run
    async def run(self, input: PluginInput) -> ChildOutput:
        return await attempt_value(input.activity, input.value, input.max_attempts)


@workflow.defn
class PluginBatchWorkflow:
    """A batch of values of an activity-backed child type (batched runs): the activity once per value, at
    most MAX_PENDING_ACTIVITIES at a time (far under Temporal's 2,000 pending activities), each value with
    its own attempts. Returns a BatchOutput (as a plain dict, as BatchWorkflow does) whose ``messages``
    hold each failure's own message. Cancelled, it cancels the activities going and returns what it has,
    the values not done marked cancelled."""

    def __init__(self) -> None:
        self._pending = 0

    @workflow.run
    async def run(self, input: PluginBatchInput) -> Any:
        values = [v for r in input.ranges for v in range(r.start, r.end + 1)]
        outcomes: list[ChildOutput | ApplicationError | None] = [None] * len(values)
        going: list[asyncio.Task[None]] = []

        async def one(offset: int) -> None:
            try:
                outcomes[offset] = await attempt_value(input.activity, values[offset], input.max_attempts)
            except ApplicationError as err:
                outcomes[offset] = err
            finally:
                self._pending -= 1

        try:
            for offset in range(len(values)):
                await workflow.wait_condition(lambda: self._pending < MAX_PENDING_ACTIVITIES)
                self._pending += 1
                going.append(asyncio.create_task(one(offset)))
            await asyncio.gather(*going)
        except asyncio.CancelledError:
            for task in going:
                task.cancel()
            await asyncio.gather(*going, return_exceptions=True)
        return _batch_output(outcomes)


def _batch_output(outcomes: list[ChildOutput | ApplicationError | None]) -> Any:
    output = BatchOutput(results=[o.result if isinstance(o, ChildOutput) else None for o in outcomes])
    kinds: dict[str, int] = {}
    attempts = [1] * len(outcomes)
    for offset, outcome in enumerate(outcomes):
        if isinstance(outcome, ChildOutput):
            attempts[offset] = outcome.attempt
        elif isinstance(outcome, ApplicationError):
            kind = outcome.type or "ApplicationError"
            attempt = int(outcome.details[0].get("attempt", 1)) if outcome.details else 1
            attempts[offset] = attempt
            output.failures.append([offset, kinds.setdefault(kind, len(kinds)), attempt])
            output.messages.append(outcome.message)
        else:
            output.cancelled.append(offset)
    output.kinds = list(kinds)
    output.attempts = attempts if any(a > 1 for a in attempts) else []
    return dict(output.__dict__)  # as workflows.batch.as_payload: readers rebuild it with BatchOutput(**raw)
