"""Child workflows: one value each (ChildWorkflow, SquareChildWorkflow) or a batch of values
(BatchWorkflow, the lab's "dynamic child spawning"). No I/O; randomness and time come from
``workflow.random()`` and ``workflow.sleep()``, so replays are exact."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.model import BatchFailure, BatchInput, BatchOutput, ChildInput, ChildOutput
from workflows.rules import compute, parse_fail_rule
from workflows.values import iter_values

# Backoff between attempts, the same for a child's retry policy and a batch's retry rounds.
RETRY_INITIAL_INTERVAL = timedelta(seconds=1)
RETRY_BACKOFF = 2.0


async def _processing_delay(delay_min_s: float, delay_max_s: float) -> None:
    """The lab's "processing delay": a durable timer of a random length in [min, max]."""
    if delay_max_s > 0:
        await workflow.sleep(workflow.random().uniform(delay_min_s, delay_max_s))


async def _run_one(input: ChildInput) -> ChildOutput:
    attempt = workflow.info().attempt
    await _processing_delay(input.delay_min_s, input.delay_max_s)
    failure = parse_fail_rule(input.fail).failure_for(input.value, workflow.random())
    if failure:
        # The attempt rides along in the details so the parent can report it.
        raise ApplicationError(failure.message, {"attempt": attempt}, type=failure.kind)
    return ChildOutput(input.value, compute(input.child_type, input.value), attempt)


@workflow.defn
class ChildWorkflow:
    """The lab's child: doubles its value; fails according to the request's rule."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await _run_one(input)


@workflow.defn
class SquareChildWorkflow:
    """Another child type (the lab's experiment 3): squares its value."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await _run_one(input)


CHILD_WORKFLOWS = {"double": ChildWorkflow, "square": SquareChildWorkflow}


@workflow.defn
class BatchWorkflow:
    """Processes a batch of values in one child workflow.

    Retries happen in rounds inside the batch (one backoff timer per round, not per value),
    so a 5,000-value batch with retries stays a handful of history events. The processing
    delay applies once per batch: the batch is the unit of work.
    """

    @workflow.run
    async def run(self, input: BatchInput) -> BatchOutput:
        rule = parse_fail_rule(input.fail)
        rng = workflow.random()
        values = list(iter_values(input.ranges))
        results: list[int | None] = [None] * len(values)
        attempts = [0] * len(values)
        errors: dict[int, tuple[str, str]] = {}
        await _processing_delay(input.delay_min_s, input.delay_max_s)
        pending = range(len(values))
        interval = RETRY_INITIAL_INTERVAL.total_seconds()
        for attempt in range(1, max(input.max_attempts, 1) + 1):
            if attempt > 1:
                await workflow.sleep(interval)
                interval *= RETRY_BACKOFF
            still_failing = []
            for i in pending:
                attempts[i] = attempt
                failure = rule.failure_for(values[i], rng)
                if failure:
                    errors[i] = (failure.message, failure.kind)
                    still_failing.append(i)
                else:
                    errors.pop(i, None)
                    results[i] = compute(input.child_type, values[i])
            pending = still_failing  # type: ignore[assignment]
            if not pending:
                break
        return BatchOutput(
            ranges=input.ranges,
            results=results,
            failures=[BatchFailure(i, msg, attempts[i], kind) for i, (msg, kind) in sorted(errors.items())],
            attempts=attempts if any(a > 1 for a in attempts) else [],
        )
