"""Reading a finished run back from Temporal: its request and its per-value rows.

Per-value runs carry every value in the parent's result. Batched runs carry a sample; the
full rows are in each BatchWorkflow's result (ids ``<run>-b<index>``), read one batch at a
time so memory stays bounded however large the run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from workflows.model import BatchOutput, FanoutRequest, FanoutResult
from workflows.values import compress, iter_values


@dataclass(frozen=True)
class ValueRow:
    value: int
    status: str  # succeeded | failed | cancelled
    result: int | None
    error: str
    attempts: int


async def run_request(handle: WorkflowHandle) -> FanoutRequest:  # type: ignore[type-arg]
    """The request a run was started with, from the first event of its history."""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [raw] = await handle._client.data_converter.decode(payloads, [FanoutRequest | list[int]])  # type: ignore[list-item]
            if isinstance(raw, list):
                return FanoutRequest(ranges=compress(raw))
            return raw  # type: ignore[no-any-return]
        break
    raise ValueError(f"no start event for {handle.id}")


async def value_rows(client: Client, run_id: str, result: FanoutResult) -> AsyncIterator[ValueRow]:
    """Every value of the run, in order, one batch at a time."""
    if result.batch_size <= 1:
        rows = [ValueRow(s.value, "succeeded", s.result, "", s.attempts) for s in result.successful_results]
        rows += [ValueRow(f.value, "failed", None, f.error, f.attempts) for f in result.failed_children]
        for row in sorted(rows, key=lambda r: r.value):
            yield row
        return
    for span in sorted(result.spans, key=lambda s: s.index):
        if span.status == "cancelled":
            continue
        handle = client.get_workflow_handle(f"{run_id}-b{span.index}", result_type=BatchOutput)
        batch: BatchOutput = await handle.result()
        errors = {f.offset: f for f in batch.failures}
        for offset, value in enumerate(iter_values(batch.ranges)):
            attempts = batch.attempts[offset] if batch.attempts else 1
            failure = errors.get(offset)
            if failure:
                yield ValueRow(value, "failed", None, failure.error, failure.attempts)
            else:
                yield ValueRow(value, "succeeded", batch.results[offset], "", attempts)


async def failed_values(client: Client, run_id: str, result: FanoutResult) -> list[int]:
    if result.results_complete:
        return [f.value for f in result.failed_children]
    return [row.value async for row in value_rows(client, run_id, result) if row.status == "failed"]

