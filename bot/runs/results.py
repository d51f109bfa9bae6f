"""Reading a finished run back from Temporal: its request and its per-value rows.

Per-value runs (up to 1,000 values) carry every value in the parent's result. Batched runs
carry samples; the full rows are in each BatchWorkflow's compact result, at the run-wide id
``<run>-b<global batch index>`` whether the root or one of its shards started it. They are read
a few batches ahead at a time and yielded in value order, so memory stays bounded however large
the run.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from itertools import islice
from typing import Any, NamedTuple

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError

from bot.runs.events import first_event
from workflows.model import BatchOutput, FailedChild, FanoutRequest, FanoutResult, SuccessfulResult
from workflows.rules import failure_message
from workflows.values import batch_count, compress, iter_values

READ_AHEAD = 16  # batch results fetched concurrently while rows are written in order


class ValueRow(NamedTuple):
    """One value of a run: a CSV row as it is (a tuple, cheap at a million rows)."""

    value: int
    status: str  # succeeded | failed | cancelled
    result: Any  # an int (the lab's children), a team's JSON, or None (no result)
    error: str
    attempts: int  # 0 for a value that never ran


async def run_request(client: Client, run_id: str) -> FanoutRequest:
    """The request a run was started with, from the first event of its history (read alone)."""
    event = await first_event(client, run_id)
    if event.event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        raise ValueError(f"no start event for {run_id}")
    payloads = event.workflow_execution_started_event_attributes.input.payloads
    [raw] = await client.data_converter.decode(payloads, [FanoutRequest | list[int]])  # type: ignore[list-item]
    if isinstance(raw, list):  # the lab's plain list
        return FanoutRequest(ranges=compress(raw))
    return raw  # type: ignore[no-any-return]


class ValueRows:
    """Every value of a run, in order (``async for row in value_rows(...)``); values that never finished
    are ``cancelled``. ``batches()`` gives the same rows a batch at a time, as (values, outcome) pairs —
    what bot.files.csv_file writes without building a row object per value."""

    def __init__(self, client: Client, run_id: str, result: FanoutResult, request: FanoutRequest | None,
                 read_ahead: int) -> None:
        self.client, self.run_id, self.result, self.request, self.read_ahead = (client, run_id, result, request,
                                                                               read_ahead)

    async def _request(self) -> FanoutRequest:
        if self.request is None:
            self.request = await run_request(self.client, self.run_id)
        return self.request

    def __aiter__(self) -> AsyncIterator[ValueRow]:
        return self._rows()

    async def _rows(self) -> AsyncIterator[ValueRow]:
        async for values, outcome in self.batches():
            for row in (per_value_rows(values, outcome) if isinstance(outcome, FanoutResult)
                        else _batch_rows(values, outcome)):
                yield row

    async def batches(self) -> AsyncIterator[tuple[list[int], BatchOutput | BaseException | FanoutResult | None]]:
        """(values, outcome) in value order: a batch's values and its output (an exception when the batch
        failed as a whole, None when it never ran); a per-value run is one pair with the run's result."""
        request = await self._request()
        if self.result.batch_size <= 1:
            yield list(iter_values(request.ranges)), self.result
            return
        async for pair in _batch_outcomes(self.client, self.run_id, self.result, request, self.read_ahead):
            yield pair


def value_rows(client: Client, run_id: str, result: FanoutResult, request: FanoutRequest | None = None,
               *, read_ahead: int = READ_AHEAD) -> ValueRows:
    """Every value of the run, in order; values that never finished are ``cancelled`` (see ValueRows)."""
    return ValueRows(client, run_id, result, request, read_ahead)


async def _batch_outcomes(client: Client, run_id: str, result: FanoutResult, request: FanoutRequest,
                          read_ahead: int) -> AsyncIterator[tuple[list[int], BatchOutput | BaseException | None]]:
    size = result.batch_size
    ran = {s.index for s in result.spans if s.status != "cancelled"}
    count = batch_count(result.total_children, size)
    window: deque[asyncio.Future[BatchOutput | BaseException] | None] = deque()
    scheduled = 0
    values = iter_values(request.ranges)
    try:
        for _ in range(count):
            while scheduled < count and len(window) < read_ahead:
                window.append(asyncio.ensure_future(_read_batch(client, f"{run_id}-b{scheduled}"))
                              if scheduled in ran else None)
                scheduled += 1
            pending = window.popleft()
            batch = list(islice(values, size))
            yield batch, (None if pending is None else await pending)  # None: never started, or cancelled whole
            await asyncio.sleep(0)  # a batch's rows at a time, then let the bot's other work run
    finally:
        for task in window:
            if task is not None:
                task.cancel()


async def failed_values(client: Client, run_id: str, result: FanoutResult) -> list[int]:
    if result.results_complete:
        return [f.value for f in result.failed_children]
    return [row.value async for row in value_rows(client, run_id, result) if row.status == "failed"]


async def _read_batch(client: Client, workflow_id: str) -> BatchOutput | BaseException:
    try:
        # Untyped, then BatchOutput(**raw): typed decoding converts 2,000 values one by one (~50× slower).
        raw = await client.get_workflow_handle(workflow_id).result()
        return BatchOutput(**raw)
    except WorkflowFailureError as err:  # the batch was cancelled, terminated or timed out
        return err.cause or err


def _batch_rows(values: list[int], outcome: BatchOutput | BaseException | None) -> Iterator[ValueRow]:
    if outcome is None:
        for value in values:
            yield ValueRow(value, "cancelled", None, "", 0)
        return
    if isinstance(outcome, BaseException):
        if isinstance(outcome, CancelledError):
            for value in values:
                yield ValueRow(value, "cancelled", None, "", 0)
        else:
            for value in values:
                yield ValueRow(value, "failed", None, str(outcome), 1)
        return
    failures = {offset: (kind_index, attempts) for offset, kind_index, attempts in outcome.failures}
    messages = {f[0]: m for f, m in zip(outcome.failures, outcome.messages, strict=True)} if outcome.messages else {}
    cancelled = set(outcome.cancelled)
    per_value_attempts = outcome.attempts
    for offset, value in enumerate(values):
        result = outcome.results[offset]
        attempts = per_value_attempts[offset] if per_value_attempts else 1
        if result is not None:
            yield ValueRow(value, "succeeded", result, "", attempts)
        elif offset in failures:
            kind_index, attempts = failures[offset]
            kind = outcome.kinds[kind_index]
            message = messages.get(offset) or failure_message(outcome.templates.get(kind, kind), value)
            yield ValueRow(value, "failed", None, message, attempts)
        elif offset in cancelled:
            yield ValueRow(value, "cancelled", None, "", attempts)
        else:
            yield ValueRow(value, "failed", None, "no result", attempts)


def per_value_rows(values: Iterable[int], result: FanoutResult) -> Iterator[ValueRow]:
    """Per-value runs list every finished value; match them to the request's values in order
    (duplicates included), the rest never finished."""
    successes: dict[int, deque[SuccessfulResult]] = {}
    failures: dict[int, deque[FailedChild]] = {}
    for s in result.successful_results:
        successes.setdefault(s.value, deque()).append(s)
    for f in result.failed_children:
        failures.setdefault(f.value, deque()).append(f)
    for value in values:
        if value in successes and successes[value]:
            s = successes[value].popleft()
            yield ValueRow(value, "succeeded", s.result, "", s.attempts)
        elif value in failures and failures[value]:
            f = failures[value].popleft()
            yield ValueRow(value, "failed", None, f.error, f.attempts)
        else:
            yield ValueRow(value, "cancelled", None, "", 0)
