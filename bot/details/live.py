"""A live run's children or batches (or those of a run that ended without a result), from one visibility list a page.

**All** pages by position: one ``WorkflowId IN`` the page's ids, so a page is stable while the run goes on, Previous
is the page before, and a child's rows are its attempts (a retried lab child is a new run of the same id).
**Still running**, **Failed** and **Retried** page in visibility's own order (running rows first, newest first, then
the most recently closed; ORDER BY is not supported) with its page token, and the list moves as children close.
Visibility has no attempt column: a row's attempt is read from the backoff its run waited (ExecutionTime -
StartTime), 1 s × 2^(attempt-2) with the children's retry policy, so a child is listed under Failed once its last
attempt failed, and under Retried once it ended after more than one. Temporal caps that backoff at 100 s (100× the
first): attempts 9 and 10 of ``--retries 10`` wait the same, and such a row reads as the later.

A batch's counts are in its result, not in visibility: a live batched run's Failed and Retried wait for the run's
result (bot.details.ended); its All shows each batch's status, and a finished batch opens to its failures.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from bot.files.timeline import value_labels
from bot.render.details import PAGE_SIZE, BatchLine, ChildLine, Cursor, Listing, Place
from runtime.temporal import RPC_TIMEOUT
from workflows.model import RETRY_BACKOFF, RETRY_INITIAL_INTERVAL, FanoutRequest
from workflows.values import batch_count

MAX_BACKOFF_S = 100 * RETRY_INITIAL_INTERVAL.total_seconds()  # Temporal's default maximum interval
BATCH_TYPES = ("BatchWorkflow", "PluginBatchWorkflow")
STATUS = {WorkflowExecutionStatus.RUNNING: "running", WorkflowExecutionStatus.COMPLETED: "succeeded",
          WorkflowExecutionStatus.FAILED: "failed", WorkflowExecutionStatus.CANCELED: "cancelled",
          WorkflowExecutionStatus.TERMINATED: "terminated", WorkflowExecutionStatus.TIMED_OUT: "timed out",
          WorkflowExecutionStatus.CONTINUED_AS_NEW: "running"}
FAILED_ENDS = (WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TIMED_OUT)  # a retry policy retries these
NOTES = {
    "running": "Still running, newest first; ⏳ waits out a backoff before its next attempt. The list moves as "
               "children close.",
    "failed": "A child is listed once its last attempt has failed, most recently failed first; the list moves as "
              "children close.",
    "retried": "A child is listed once it has ended after more than one attempt, most recently ended first.",
}
ACTIVITY_RETRIES_NOTE = ("A team's activity-backed child makes its attempts inside its own history: Retried lists "
                         "them once the run has ended, from its result. A child's Story tells them now.")
BATCH_COUNTS_NOTE = ("A batch's counts come with the run's result: Failed and Retried list batches once the run has "
                     "ended. Meanwhile All shows each batch, and a finished one opens to its failures.")
NO_RESULT_BATCHES_NOTE = ("The run ended without a result, which is where a batch's counts are: All shows each "
                          "batch, and a finished one opens to its failures.")


def attempt_of(row: WorkflowExecution) -> int:
    """A child's attempt from its own visibility row: the backoff its run waited before it began."""
    if row.execution_time is None:
        return 1
    backoff = (row.execution_time - row.start_time).total_seconds()
    first = RETRY_INITIAL_INTERVAL.total_seconds()
    if backoff < first / 2:
        return 1
    return 2 + round(math.log(min(backoff, MAX_BACKOFF_S) / first, RETRY_BACKOFF))


def _status(row: WorkflowExecution, now: datetime) -> str:
    status = STATUS.get(row.status, "unknown") if row.status else "unknown"
    # A retry's run waits out its backoff before it begins (a first run begins at once: its clock is the server's,
    # which may be a little ahead of ours).
    if status == "running" and attempt_of(row) > 1 and row.execution_time is not None and row.execution_time > now:
        return "waiting to retry"
    return status


def _index(row_id: str, prefix: str) -> int:
    """The position (``-c``) or batch index (``-b``) in a child's id, -1 for an id that is not one."""
    tail = row_id.removeprefix(prefix)
    return int(tail) if tail != row_id and tail.isdigit() else -1


def _seconds(start: datetime | None, end: datetime | None, now: datetime) -> float | None:
    return None if start is None else max(((end or now) - start).total_seconds(), 0.0)


async def one_list(client: Client, query: str, page_size: int,
                   token: bytes | None) -> tuple[list[WorkflowExecution], bytes | None]:
    """One visibility list: one page of rows (never the following ones), and the next page's token."""
    rows = client.list_workflows(query, page_size=page_size, next_page_token=token, rpc_timeout=RPC_TIMEOUT)
    await rows.fetch_next_page()
    return list(rows.current_page or []), rows.next_page_token


class LiveRun:
    """What a live run's listings need: who it is, its values and how its children retry."""

    def __init__(self, client: Client, run_id: str, request: FanoutRequest, total: int, batch_size: int,
                 now: datetime, *, live: bool) -> None:
        self.client, self.run_id, self.ranges, self.total, self.batch_size, self.now = (
            client, run_id, request.ranges, total, batch_size, now)
        self.live = live  # False: it ended without a result (terminated, timed out), and no result will come
        # A child's attempts are runs of its workflow, unless they are activities inside a team's child.
        self.workflow_retries = request.plugin is None or not request.plugin.activity
        self.attempts = max(request.max_attempts, 1)
        self.runs_per_child = self.attempts if self.workflow_retries and batch_size <= 1 else 1

    async def listing(self, place: Place, counts: dict[str, int]) -> Listing:
        batches = self.batch_size > 1
        if place.show == "all":
            return await (self._batch_window(place, counts) if batches else self._child_window(place, counts))
        if batches and place.show != "running":
            return Listing(True, [], counts=counts, note=BATCH_COUNTS_NOTE if self.live else NO_RESULT_BATCHES_NOTE)
        if place.show == "retried" and not self.workflow_retries:
            return Listing(False, [], counts=counts, note=ACTIVITY_RETRIES_NOTE)
        return await self._by_token(place, counts)

    # -- All: a page of positions -----------------------------------------------------------------------------

    async def _rows_of(self, ids: list[str]) -> dict[str, list[WorkflowExecution]]:
        """Each id's runs, oldest first: one list."""
        quoted = ", ".join(f"'{i}'" for i in ids)
        rows, _ = await one_list(self.client, f"WorkflowId IN ({quoted})", len(ids) * self.runs_per_child, None)
        runs: dict[str, dict[str, WorkflowExecution]] = {}
        for row in rows:
            runs.setdefault(row.id, {})[row.run_id or ""] = row  # a row seen twice (the list moved) counts once
        return {wid: sorted(by_run.values(), key=lambda r: r.start_time) for wid, by_run in runs.items()}

    def _page(self, place: Place, count: int) -> range:
        first = place.page * PAGE_SIZE
        return range(first, min(first + PAGE_SIZE, count))

    async def _child_window(self, place: Place, counts: dict[str, int]) -> Listing:
        positions = self._page(place, self.total)
        runs = await self._rows_of([f"{self.run_id}-c{p}" for p in positions]) if positions else {}
        labels = value_labels(set(positions), self.ranges, 1)
        lines = []
        for position in positions:
            label = labels.get(position, f"#{position}")
            rows = runs.get(f"{self.run_id}-c{position}", [])
            if not rows:
                lines.append(ChildLine(position, label, "not started"))
                continue
            status = _status(rows[-1], self.now)
            attempts = len(rows) if self.workflow_retries else 0
            lines.append(ChildLine(position, label, status, attempts,
                                   _seconds(rows[0].start_time, rows[-1].close_time, self.now),
                                   story=status in ("failed", "timed out", "terminated") or attempts > 1))
        note = ("Results and errors show here once the run has ended; a failed child's Story has its error now."
                if self.live else "The run ended without a result: this is what Temporal's visibility has of each "
                                  "child; a failed child's Story has its error.")
        return Listing(False, lines, positions.start, self.total, positions.stop < self.total, counts=counts,
                       note=note)

    async def _batch_window(self, place: Place, counts: dict[str, int]) -> Listing:
        batches = batch_count(self.total, self.batch_size)
        indexes = self._page(place, batches)
        runs = await self._rows_of([f"{self.run_id}-b{i}" for i in indexes]) if indexes else {}
        labels = value_labels(set(indexes), self.ranges, self.batch_size)
        lines = []
        for index in indexes:
            values = min(self.batch_size, self.total - index * self.batch_size)
            rows = runs.get(f"{self.run_id}-b{index}", [])
            lines.append(self._batch_line(index, labels.get(index, f"#{index}"), values, rows[-1] if rows else None))
        return Listing(True, lines, indexes.start, batches, indexes.stop < batches, counts=counts,
                       note=("A batch's counts come with the run's result; a finished batch opens to its failures."
                             if self.live else NO_RESULT_BATCHES_NOTE))

    def _batch_line(self, index: int, label: str, values: int, row: WorkflowExecution | None) -> BatchLine:
        if row is None:
            return BatchLine(index, label, values, "not started", 0, 0)
        status = _status(row, self.now)
        return BatchLine(index, label, values, status, duration_s=_seconds(row.start_time, row.close_time, self.now),
                         opens=status != "running")

    # -- Still running, Failed, Retried: visibility's order, by page token --------------------------------------

    def _query(self, show: str) -> tuple[str, Callable[[WorkflowExecution], bool]]:
        """The filter's visibility query, and which of its rows are the filter's (one row per child)."""
        if show == "running":
            if self.batch_size > 1:  # a shard's batches have the shard for parent: the run is their root
                types = ", ".join(f"'{t}'" for t in BATCH_TYPES)
                return (f"RootWorkflowId = '{self.run_id}' AND WorkflowType IN ({types}) AND "
                        "ExecutionStatus = 'Running'"), lambda row: True
            return f"ParentWorkflowId = '{self.run_id}' AND ExecutionStatus = 'Running'", lambda row: True
        if show == "failed":
            return (f"ParentWorkflowId = '{self.run_id}' AND ExecutionStatus IN ('Failed', 'TimedOut', 'Terminated')",
                    self._last)
        return (f"ParentWorkflowId = '{self.run_id}' AND ExecutionStatus != 'Running'",
                lambda row: attempt_of(row) > 1 and (row.status not in FAILED_ENDS or self._last(row)))

    def _last(self, row: WorkflowExecution) -> bool:
        """Whether a closed row ended its child: no retry follows it."""
        return (row.status not in FAILED_ENDS or not self.workflow_retries
                or attempt_of(row) >= self.attempts)

    async def _by_token(self, place: Place, counts: dict[str, int]) -> Listing:
        query, wanted = self._query(place.show)
        rows, token = await one_list(self.client, query, PAGE_SIZE * self.runs_per_child, place.at.page_token)
        seen: set[str] = set()
        matches = []
        for row in rows:
            if wanted(row) and row.id not in seen:
                seen.add(row.id)
                matches.append(row)
        skip = place.at.skip
        shown = matches[skip:skip + PAGE_SIZE]
        ahead = (Cursor(place.at.token, skip + PAGE_SIZE) if skip + PAGE_SIZE < len(matches)
                 else Cursor.of(token) if token else None)
        batches = self.batch_size > 1
        prefix = f"{self.run_id}-{'b' if batches else 'c'}"
        indexes = {_index(row.id, prefix) for row in shown}
        labels = value_labels(indexes, self.ranges, self.batch_size)
        lines: list[ChildLine] | list[BatchLine]
        if batches:
            lines = [self._batch_line(i, labels.get(i, f"#{i}"), min(self.batch_size, self.total - i * self.batch_size),
                                      row) for row in shown if (i := _index(row.id, prefix)) >= 0]
        else:
            lines = [self._child_line(i, labels.get(i, f"#{i}"), row) for row in shown
                     if (i := _index(row.id, prefix)) >= 0]
        return Listing(batches, lines, has_next=ahead is not None, ahead=ahead, counts=counts,
                       note=NOTES[place.show])

    def _child_line(self, position: int, label: str, row: WorkflowExecution) -> ChildLine:
        status = _status(row, self.now)
        attempts = attempt_of(row) if self.workflow_retries else 0
        return ChildLine(position, label, status, attempts, _seconds(row.execution_time, row.close_time, self.now),
                         story=status in ("failed", "timed out", "terminated") or attempts > 1)

