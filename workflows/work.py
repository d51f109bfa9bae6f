"""What a one-value child does (ChildWorkflow, SquareChildWorkflow), as plain async functions, and
what every child shares (the processing delay). Imported by workflows.child,
.square and .batch *inside* the workflow sandbox, so its checks apply here too. The sandbox
re-imports this module for every child run, so it stays small and its imports few (workflows.model
is passed through, workflows.rules is small; a batch's own work is in workflows.batch). No I/O;
randomness and time come from ``workflow.random()`` and ``workflow.sleep()``, so replays are exact."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.model import ChildInput, ChildOutput
from workflows.rules import compute, parse_fail_rule


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
        # A retried attempt rides along in the details so the parent can report it (without details the
        # parent reads attempt 1): a first attempt's failure carries no payload to encode and decode.
        details = [{"attempt": attempt}] if attempt > 1 else []
        raise ApplicationError(failure.message(input.value), *details, type=failure.kind)
    return ChildOutput(input.value, compute(input.child_type, input.value), attempt)
