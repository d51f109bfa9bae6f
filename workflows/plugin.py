"""A team's own child types: the plugin API, and the child workflow that runs an activity-backed one.

A package adds child types through the entry point group ``fanout.children``, each naming a ``ChildType``
(README, "Add your own child workflow"). A child type is either

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
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.model import ChildOutput, PluginInput
from workflows.work import RETRY_BACKOFF, RETRY_INITIAL_INTERVAL

MAX_RESULT_BYTES = 1000  # per value: 1,000 results of a run's parent stay well inside 2 MB
ACTIVITY_TIMEOUT = timedelta(minutes=5)  # one attempt of a plugin's activity


@dataclass(frozen=True)
class ChildType:
    """One child type a plugin adds: ``name`` (what ``--child`` takes), a one-line ``description``, and
    exactly one of ``activity`` or ``workflow``."""

    name: str
    description: str
    activity: Callable[..., Any] | None = None
    workflow: type | None = None


def result_problem(result: Any) -> str | None:
    """Why a plugin's result cannot be a run's result, or None."""
    try:
        size = len(json.dumps(result, separators=(",", ":")).encode())
    except (TypeError, ValueError) as err:
        return f"the result is not JSON ({err})"
    if size > MAX_RESULT_BYTES:
        return f"the result is {size:,} bytes of JSON; a child's result may be at most {MAX_RESULT_BYTES:,}"
    return None


@workflow.defn
class PluginChildWorkflow:
    """One value of an activity-backed child type: the activity, attempted up to ``max_attempts`` times
    with the lab's backoff; its result, or its own last error with the attempt it failed on."""

    @workflow.run
    async def run(self, input: PluginInput) -> ChildOutput:
        interval = RETRY_INITIAL_INTERVAL.total_seconds()
        last = max(input.max_attempts, 1)
        for attempt in range(1, last + 1):
            try:
                result = await workflow.execute_activity(
                    input.activity, input.value, start_to_close_timeout=ACTIVITY_TIMEOUT,
                    retry_policy=RetryPolicy(maximum_attempts=1))
            except ActivityError as err:
                cause = err.cause
                final = attempt == last or (isinstance(cause, ApplicationError) and cause.non_retryable)
                if final:
                    message = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
                    kind = (cause.type if isinstance(cause, ApplicationError) else None) or type(cause or err).__name__
                    raise ApplicationError(message, {"attempt": attempt}, type=kind, non_retryable=True) from None
                await workflow.sleep(interval)
                interval *= RETRY_BACKOFF
                continue
            problem = result_problem(result)
            if problem:
                raise ApplicationError(problem, {"attempt": attempt}, type="ResultTooLarge", non_retryable=True)
            return ChildOutput(input.value, result, attempt)
        raise AssertionError("unreachable")
