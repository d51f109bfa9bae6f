"""What the child workflows do, as plain async functions: imported *through* the workflow sandbox
(workflows.child and workflows.batch pass it through), because the sandbox re-imports a workflow's
own module for every run — every child — so those modules stay tiny. No I/O; randomness and time
come from ``workflow.random()`` and ``workflow.sleep()``, so replays are exact."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.model import BatchInput, BatchOutput, ChildInput, ChildOutput
from workflows.rules import compute, parse_fail_rule
from workflows.values import iter_values

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


async def run_batch(input: BatchInput) -> Any:
    """A batch of values (BatchWorkflow): a compact BatchOutput, as a plain dict (as_payload).

    Retries happen in rounds inside the batch (one backoff timer per round, not per value),
    so a 2,000-value batch with retries stays a handful of history events. The processing
    delay applies once per batch: the batch is the unit of work. Cancelled during the delay,
    the batch is cancelled as a whole; cancelled while waiting to retry, it returns what it
    has, the values awaiting a retry marked cancelled.
    """
    rule = parse_fail_rule(input.fail)
    rng = workflow.random()
    values = list(iter_values(input.ranges))
    results: list[int | None] = [None] * len(values)
    attempts = [0] * len(values)
    failed: dict[int, str] = {}  # offset -> kind of its last failure
    templates: dict[str, str] = {}
    await processing_delay(input.delay_min_s, input.delay_max_s)
    pending: list[int] = list(range(len(values)))
    cancelled: list[int] = []
    interval = RETRY_INITIAL_INTERVAL.total_seconds()
    for attempt in range(1, max(input.max_attempts, 1) + 1):
        if attempt > 1:
            try:
                await workflow.sleep(interval)
            except asyncio.CancelledError:
                cancelled = pending  # never finished: neither a result nor a final failure
                for i in pending:
                    failed.pop(i, None)
                break
            interval *= RETRY_BACKOFF
        still_failing = []
        for i in pending:
            attempts[i] = attempt
            failure = rule.failure_for(values[i], rng)
            if failure:
                failed[i] = failure.kind
                templates.setdefault(failure.kind, failure.template)
                still_failing.append(i)
            else:
                failed.pop(i, None)
                results[i] = compute(input.child_type, values[i])
        pending = still_failing
        if not pending:
            break
    kinds = sorted(templates)
    kind_index = {kind: k for k, kind in enumerate(kinds)}
    output = BatchOutput(
        results=results,
        failures=[[i, kind_index[kind], attempts[i]] for i, kind in sorted(failed.items())],
        kinds=kinds,
        templates=templates,
        attempts=attempts if any(a > 1 for a in attempts) else [],
        cancelled=cancelled,
    )
    return as_payload(output)


def as_payload(output: BatchOutput) -> Any:
    """The output as a plain dict of JSON-ready lists: the same JSON as the dataclass, but the
    converter's dataclass path (``dataclasses.asdict``) deep-copies every list element, ~20× the
    cost at 2,000 values. Readers rebuild it with ``BatchOutput(**payload)`` (workflows.dispatch,
    bot.results) for the same reason: typed decoding converts element by element."""
    return dict(output.__dict__)
