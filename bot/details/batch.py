"""One batch's failures, a page at a time, from its result: the last event of ``<run>-b<index>`` (read alone, so a
batch still running is never waited for) decoded once, untyped (a batch of 10,000 values: 90-135 KB, about 15 ms).
Its values come from the run's request, the batch's slice of it; each failure is ``[offset, kind index, attempts]``
with its message the batch's template for that kind filled with the value (a team's batch keeps each failure's
own message). Values inside a batch have no history of their own: this is what is known of them."""

from __future__ import annotations

from itertools import islice

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError

from bot.files.timeline import value_labels
from bot.render.details import BATCH_PAGE_SIZE, BatchFailure, BatchFailures
from bot.runs.events import is_not_found, last_event
from workflows.model import BatchOutput, FanoutRequest
from workflows.rules import failure_message
from workflows.values import chunk_ranges, count_values, iter_values

E = EventType
NEVER = ("It has no workflow: the run was cancelled before this batch started, or retention has removed its "
         "history.")
UNFINISHED = "It is still running: its failures show here once it finishes (Refresh the run to see)."


async def batch_failures(client: Client, run_id: str, index: int, request: FanoutRequest, batch_size: int,
                         page: int) -> BatchFailures:
    """The page-th BATCH_PAGE_SIZE failures of batch ``index`` (batches cover the run's values in order, run-wide,
    whichever shard started them)."""
    chunk = next(islice(chunk_ranges(request.ranges, batch_size), index, None), None)
    if chunk is None or index < 0:
        return BatchFailures(run_id, index, f"#{index}", 0, outcome="The run has no such batch.")
    label = value_labels({index}, request.ranges, batch_size).get(index, f"#{index}")
    heading = BatchFailures(run_id, index, label, count_values(chunk))
    try:
        ending = await last_event(client, f"{run_id}-b{index}")
    except RPCError as err:
        if not is_not_found(err):
            raise
        return _with(heading, NEVER)
    kind = ending.event_type
    if kind == E.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
        return _with(heading, "It was cancelled before any of its values was done.", cancelled=heading.values)
    if kind in (E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED, E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
                E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED):
        why = {E.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed", E.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT:
               "timed out", E.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "was terminated"}[kind]
        return _with(heading, f"The batch {why} as a whole, without a result: every value of it failed with the "
                              "batch's error (the Temporal UI shows it).", failed=heading.values)
    if kind != E.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return _with(heading, UNFINISHED)
    [raw] = await client.data_converter.decode(ending.workflow_execution_completed_event_attributes.result.payloads)
    output = BatchOutput(**raw)  # untyped, then the dataclass: typed decoding converts value by value (~50x slower)
    values = list(iter_values(chunk))
    first = page * BATCH_PAGE_SIZE
    failures = []
    for k, (offset, kind_index, attempts) in enumerate(output.failures[first:first + BATCH_PAGE_SIZE], start=first):
        error_kind = output.kinds[kind_index]
        message = (output.messages[k] if output.messages
                   else failure_message(output.templates.get(error_kind, error_kind), values[offset]))
        failures.append(BatchFailure(values[offset], error_kind, message, attempts))
    failed, cancelled = len(output.failures), len(output.cancelled)
    return BatchFailures(run_id, index, label, len(values), failures, first, failed, len(values) - failed - cancelled,
                         cancelled, max(output.attempts or [1]))


def _with(heading: BatchFailures, outcome: str, *, failed: int = 0, cancelled: int = 0) -> BatchFailures:
    return BatchFailures(heading.run_id, heading.index, heading.label, heading.values, failed=failed,
                         cancelled=cancelled, outcome=outcome)
