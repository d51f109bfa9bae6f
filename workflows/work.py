"""What a one-value child does (ChildWorkflow, SquareChildWorkflow), as plain async functions, and
what every child shares (the processing delay, the retry backoff). Imported by workflows.double,
.square and .batch *inside* the workflow sandbox, so its checks apply here too. The sandbox
re-imports this module for every child run, so it stays small and its imports few (workflows.model
is passed through, workflows.rules is small; a batch's own work is in workflows.batch). No I/O;
randomness and time come from ``workflow.random()`` and ``workflow.sleep()``, so replays are exact."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.model import ChildInput, ChildOutput
from workflows.rules import compute, parse_fail_rule

# Backoff between attempts, the same for a child's retry policy and a batch's retry rounds.
RETRY_INITIAL_INTERVAL = timedelta(seconds=1)
RETRY_BACKOFF = 2.0


async def processing_delay(delay_min_s: float, delay_max_s: float) -> None:
    """The lab's "processing delay": a durable timer of a random length in [min, max]."""
    if delay_max_s > 0:
        await workflow.sleep(workflow.random().uniform(delay_min_s, delay_max_s))


async def run_one(input: ChildInput) -> ChildOutput:
    """One value (ChildWorkflow, SquareChildWorkflow): its result, or its own ApplicationError."""
    attempt = workflow.info().attempt
    await processing_delay(input.delay_min_s, input.delay_max_s)
    failure = parse_fail_rule(input.fail).failure_for(input.value, workflow.random())
    if failure:
        # The attempt rides along in the details so the parent can report it.
        raise ApplicationError(failure.message(input.value), {"attempt": attempt}, type=failure.kind)
    return ChildOutput(input.value, compute(input.child_type, input.value), attempt)
