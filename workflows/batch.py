"""BatchWorkflow: a batch of values in one child workflow (the lab's "dynamic child spawning"), and
its work. Its own module because the sandbox re-imports a workflow's module, and what it imports, for
every run: a one-value child never compiles a batch's code (workflows.double imports workflows.work
only), and a batch only this and workflows.work's shared pieces.
"""

# No `from __future__ import annotations` here: string annotations become ForwardRefs compiled
# again for every run.
import asyncio
from typing import Any

from temporalio import workflow

from workflows.model import BatchInput, BatchOutput
from workflows.rules import compute, parse_fail_rule
from workflows.work import RETRY_BACKOFF, RETRY_INITIAL_INTERVAL, processing_delay


@workflow.defn
class BatchWorkflow:
    """Processes a batch of values; returns a compact BatchOutput (as a plain dict, see
    as_payload), retrying failed values in rounds up to ``max_attempts``."""

    @workflow.run
    async def run(self, input: BatchInput) -> BatchOutput:
        return await run_batch(input)  # type: ignore[no-any-return]


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
    values = [v for r in input.ranges for v in range(r.start, r.end + 1)]  # workflows.values.iter_values
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
