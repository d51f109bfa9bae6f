"""Dispatch: one fan-out (a whole run, or one shard of it) — children started into a bounded
window (at most MAX_STARTING_CHILDREN of them starting at once), their outcomes folded
(workflows.fanin). Runs inside ParentWorkflow, inside the workflow sandbox; no I/O.

Three kinds of children: one value (per-value mode, ids ``{run}-c{position}``), one batch
(BatchWorkflow, ids ``{run}-b{global batch index}`` whoever starts it), or one shard (a
ParentWorkflow owning workflows.values.batches_per_workflow batches, ids ``{run}-s{index}``).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

from workflows.fanin import Fold, result_problem
from workflows.model import (
    BATCHES_PER_WORKFLOW,
    CHILD_WORKFLOW_TYPES,
    MAX_BATCH_SIZE,
    MAX_CHILD_WORKFLOWS,
    MAX_PENDING_CHILDREN,
    MAX_RESULT_BYTES,
    MAX_STARTING_CHILDREN,
    RESULT_BYTES_PER_VALUE,
    RESULT_LIST_LIMIT,
    RESULT_SAMPLE,
    RETRY_BACKOFF,
    RETRY_INITIAL_INTERVAL,
    BatchInput,
    BatchOutput,
    ChildInput,
    ChildOutput,
    ChildSpan,
    FailedChild,
    FanoutRequest,
    FanoutResult,
    PluginBatchInput,
    PluginInput,
    Progress,
    ShardSpec,
)
from workflows.values import (
    batch_count,
    batches_per_workflow,
    chunk_ranges,
    count_values,
    iter_values,
    plan_batch_size,
    plan_shards,
)

# Children outlive their parent only by accident (say, the run was terminated from the UI);
# then they are asked to cancel, as in any cancelled run, rather than killed (Temporal's default).
CHILDREN_OUTLIVING_PARENT = ParentClosePolicy.REQUEST_CANCEL


class Parent(Protocol):
    """What a fan-out needs from its ParentWorkflow."""

    _progress: Progress
    _started_at: datetime | None
    _cancel_requested: bool

    def shard_finished(self, index: int) -> None: ...

    def batch_finished(self, index: int) -> None: ...


class FanOut:
    """One fan-out (a whole run, or one shard of it): dispatches children into a bounded window
    and folds their outcomes. Three kinds of children: one value (per-value mode), one batch,
    or one shard (a ParentWorkflow owning batches_per_workflow batches)."""

    def __init__(self, parent: Parent, request: FanoutRequest) -> None:
        self.parent = parent
        self.request = request
        self.spec = request.shard
        self.total = count_values(request.ranges)
        self.batch_size = self.spec.batch_size if self.spec else _batch_size(self.total, request.batch_size)
        self.per_value = self.batch_size == 1 and self.spec is None
        batches = batch_count(self.total, self.batch_size)
        # A team's results are bigger than the lab's ints: fewer of its batches per history.
        value_bytes = MAX_RESULT_BYTES if request.plugin else RESULT_BYTES_PER_VALUE
        self.shards = 0 if self.spec or self.per_value else plan_shards(batches, self.batch_size, value_bytes)
        self.per_shard = batches_per_workflow(self.batch_size, value_bytes)  # batches a shard owns
        self.root_id = self.spec.root_id if self.spec else workflow.info().workflow_id
        self.first_batch = self.spec.first_batch if self.spec else 0
        assert parent._started_at is not None
        self.epoch_ms = self.spec.root_started_ms if self.spec else epoch_ms(parent._started_at)
        self.window = 1 if request.sequential else MAX_PENDING_CHILDREN if self.per_value else BATCHES_PER_WORKFLOW
        # Starts in flight are bounded too: a child cannot be cancelled before its start lands, and the
        # server starts children at its own pace, so a cancel must not find hundreds of starts queued.
        # Histories from before the patch initiated the whole window at once; the marker is recorded
        # in the run's first workflow task. The bound binds only above MAX_STARTING_CHILDREN children, so
        # smaller runs, the same either way, do not record it (two events and a search attribute update in
        # their first task). A replay still asks: histories recorded before that carry it at every size,
        # and the SDK fails a replay whose recorded marker is never asked for.
        children = self.total if self.per_value else self.shards or batches
        ask = children > MAX_STARTING_CHILDREN or workflow.unsafe.is_replaying()
        bounded = workflow.patched("bounded-child-starts") if ask else True
        self.start_window = MAX_STARTING_CHILDREN if bounded else self.window
        self.pending = 0
        self.unstarted: set[int] = set()  # children whose start is in flight: not cancellable yet
        self.cancelling = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.fold = Fold(RESULT_LIST_LIMIT if self.per_value else RESULT_SAMPLE)

    # -- fan-out -------------------------------------------------------------------------------------
    async def dispatch_and_gather(self) -> None:
        for index, work in enumerate(self._work_items()):
            await workflow.wait_condition(lambda: self._room() or self.parent._cancel_requested)
            if self.parent._cancel_requested:
                break
            self.pending += 1
            self.unstarted.add(index)
            self.tasks.append(asyncio.create_task(self._run_child(index, work)))
        # Fan-in: a failed child never fails the parent.
        gathered: asyncio.Future[Any] = asyncio.gather(*self.tasks, return_exceptions=True)
        cancel_watch: asyncio.Future[Any] = asyncio.create_task(
            workflow.wait_condition(lambda: self.parent._cancel_requested))
        await workflow.wait([gathered, cancel_watch], return_when=asyncio.FIRST_COMPLETED)
        if not gathered.done():
            await self.cancel_and_settle()
        cancel_watch.cancel()

    def _room(self) -> bool:
        return self.pending < self.window and len(self.unstarted) < self.start_window

    async def cancel_and_settle(self) -> None:
        # Cancelling the awaiting task sends the child a cancel request; the task then waits for
        # the child to close (a shard returns its partial result, which is folded in).
        # Runs cancelled before this way of cancelling recorded no marker; they are below the compatibility
        # floor (CHANGELOG.md), so the patch is deprecated: the marker may be in a history, or not.
        workflow.deprecate_patch("cancel-started-children-only")
        # A cancel sent while a child's start is in flight is lost: the server starts the child
        # anyway and it runs on, unasked (or is killed when its parent closes). Those children
        # are cancelled by _start_child as soon as their start lands.
        first_time, self.cancelling = not self.cancelling, True
        if first_time:
            for index, task in enumerate(self.tasks):
                if index not in self.unstarted:
                    task.cancel()
        # Shielded: a cancel from outside arriving now must not cancel children still starting.
        await asyncio.shield(asyncio.gather(*self.tasks, return_exceptions=True))

    def _work_items(self) -> Any:
        if self.per_value:
            return iter_values(self.request.ranges)
        if self.shards:
            return chunk_ranges(self.request.ranges, self.per_shard * self.batch_size)
        return chunk_ranges(self.request.ranges, self.batch_size)

    # -- one child -----------------------------------------------------------------------------------
    async def _run_child(self, index: int, work: Any) -> None:
        if self.shards:
            try:
                await self._run_shard(index, work)
            finally:
                self.pending -= 1
            return
        progress = self.parent._progress
        values = 1 if self.per_value else count_values(work)
        progress.running += values
        start = workflow.now()
        status, attempts = "cancelled", 1
        try:
            if self.per_value:
                status, attempts = await self._run_value_child(index, work)
            else:
                status, attempts = await self._run_batch_child(index, work)
        except asyncio.CancelledError:
            status = "cancelled"
        finally:
            # No workflow calls in here: evicted from the worker's cache, a workflow's coroutines are
            # closed outside its event loop (GeneratorExit), where workflow.now() raises.
            progress.running -= values
            self.pending -= 1
            if not self.per_value:
                self.parent.batch_finished(self.first_batch + index)  # its result replaces what it reported
        end = workflow.now()
        span_index = index if self.per_value else self.first_batch + index
        self.fold.span(ChildSpan(span_index, self._ms(start), self._ms(end), status, attempts, values),
                       (end - start).total_seconds())

    async def _run_value_child(self, index: int, value: int) -> tuple[str, int]:
        req = self.request
        progress = self.parent._progress
        try:
            output = await (await self._start_value_child(index, value))
            if not isinstance(output, ChildOutput):  # a team's workflow returns its result alone
                output = ChildOutput(value, output, 1)
        except ChildWorkflowError as err:
            cause = err.cause
            if isinstance(cause, CancelledError):
                return "cancelled", 1
            if isinstance(cause, ApplicationError):
                attempts = _attempt_from(cause)
                failure = FailedChild(value, cause.message, type(cause).__name__, attempts,
                                      cause.type or type(cause).__name__)
            else:  # timeouts, terminations: still the child's own failure, reported as such
                attempts = 1
                kind = type(cause or err).__name__
                failure = FailedChild(value, str(cause) if cause else str(err), kind, attempts, kind)
            self.fold.value_failed(index, failure)
            progress.failed += 1
            return "failed", attempts
        problem = result_problem(output.result) if req.plugin else None
        if problem:  # a team's workflow returned more than a result may be
            self.fold.value_failed(index, FailedChild(value, problem, "ApplicationError", output.attempt,
                                                      "ResultTooLarge"))
            progress.failed += 1
            return "failed", output.attempt
        self.fold.value_succeeded(index, value, output.result, output.attempt)
        progress.succeeded += 1
        return "succeeded", output.attempt

    async def _start_value_child(self, index: int, value: int) -> Any:
        """One value's child: the lab's (its failure rule and delay), or a team's own, on its own task queue
        (its workflow with the value; or PluginChildWorkflow, which makes its own attempts)."""
        req, plugin = self.request, self.request.plugin
        child_id = f"{self.root_id}-c{index}"
        if plugin is None:
            return await self._start_child(
                index, CHILD_WORKFLOW_TYPES[req.child_type],
                ChildInput(value, req.fail, req.delay_min_s, req.delay_max_s, req.child_type),
                id=child_id, retry_policy=_child_retry_policy(req.max_attempts), result_type=ChildOutput)
        if plugin.activity:
            return await self._start_child(index, plugin.workflow, PluginInput(value, plugin.activity,
                                                                               req.max_attempts),
                                           id=child_id, task_queue=plugin.task_queue, result_type=ChildOutput)
        return await self._start_child(index, plugin.workflow, value, id=child_id, task_queue=plugin.task_queue,
                                       retry_policy=_child_retry_policy(req.max_attempts))

    async def _run_batch_child(self, index: int, ranges: Any) -> tuple[str, int]:
        req = self.request
        progress = self.parent._progress
        pos = index * self.batch_size
        batch = self.first_batch + index
        try:
            if req.plugin is None:
                raw = await (await self._start_child(
                    index, "BatchWorkflow",  # untyped: see workflows.batch.as_payload
                    BatchInput(ranges, req.fail, req.max_attempts, req.delay_min_s, req.delay_max_s, req.child_type,
                               batch),
                    id=f"{self.root_id}-b{batch}",
                ))
            else:  # a team's activity, once per value, on its own task queue (workflows.plugin)
                raw = await (await self._start_child(
                    index, "PluginBatchWorkflow",  # by name, as BatchWorkflow
                    PluginBatchInput(ranges, req.plugin.activity, req.max_attempts, batch),
                    id=f"{self.root_id}-b{batch}", task_queue=req.plugin.task_queue,
                ))
        except ChildWorkflowError as err:
            if isinstance(err.cause, CancelledError):
                return "cancelled", 1
            # Terminated, timed out: every value of the batch failed with the batch's error.
            values = list(iter_values(ranges))
            kind = type(err.cause or err).__name__
            self.fold.batch_failed(pos, values, str(err.cause or err), kind)
            progress.failed += len(values)
            return "failed", 1
        output = BatchOutput(**raw)
        values = list(iter_values(ranges))
        succeeded, failed = self.fold.batch(pos, values, output)
        progress.succeeded += succeeded
        progress.failed += failed
        status = ("succeeded" if succeeded == len(values) else "failed" if failed == len(values)
                  else "cancelled" if succeeded + failed == 0 else "mixed")
        return status, max(output.attempts or [1])

    async def _run_shard(self, index: int, ranges: Any) -> None:
        spec = ShardSpec(self.root_id, index, index * self.per_shard, self.batch_size, self.epoch_ms)
        try:
            result = await (await self._start_child(
                index, "ParentWorkflow",  # this workflow type again, as a shard
                replace(self.request, ranges=ranges, batch_size=self.batch_size, shard=spec),
                id=f"{self.root_id}-s{index}",
                result_type=FanoutResult,
            ))
        except (ChildWorkflowError, asyncio.CancelledError) as err:
            # Cancelled before it started, or lost (terminated): its values never finished.
            workflow.logger.warning("Shard %d ended without a result: %s", index, err)
            self.parent.shard_finished(index)
            return
        self.parent.shard_finished(index)
        self.fold.shard(index * self.per_shard * self.batch_size, result)
        self.parent._progress.succeeded += result.success_count
        self.parent._progress.failed += result.failure_count

    async def _start_child(self, index: int, workflow_fn: Any, arg: Any, **options: Any) -> Any:
        """Start one child (the same commands as execute_child_workflow); its handle, which
        is already cancelled if the run was cancelled while the start was in flight."""
        try:
            handle = await workflow.start_child_workflow(
                workflow_fn, arg, parent_close_policy=CHILDREN_OUTLIVING_PARENT, **options)
        finally:
            self.unstarted.discard(index)
        if self.cancelling:
            handle.cancel()  # sends the cancel request; awaiting the handle gives its outcome
        return handle

    def _ms(self, at: datetime) -> int:
        return epoch_ms(at) - self.epoch_ms

    # -- fan-in --------------------------------------------------------------------------------------
    def result(self, wall_s: float) -> FanoutResult:
        progress = self.parent._progress
        cancelled = self.total - self.fold.succeeded - self.fold.failed
        return self.fold.result(
            self.total,
            status="cancelled" if self.parent._cancel_requested or cancelled else "completed",
            cancelled_by=progress.cancel_requested_by,
            sequential=self.request.sequential,
            batch_size=self.batch_size,
            wall_s=wall_s,
            shard_count=self.shards,
        )


def _batch_size(total: int, requested: int) -> int:
    """Values per child of a run's root: the plan (workflows.values.plan_batch_size), or what was asked for
    if it can run (the parser refuses the rest; other callers get the plan)."""
    size = plan_batch_size(total, requested)
    if (size == 1 and total > MAX_CHILD_WORKFLOWS) or size > MAX_BATCH_SIZE:
        size = plan_batch_size(total)
    # Runs planned with batches of at most 2,000 values are below the compatibility floor (CHANGELOG.md); those
    # planned since recorded the patch "batches-of-10000" where their plan differed from that one. A replay still
    # asks for it (deprecated: taken whether or not its marker is there); a new run records nothing.
    if workflow.unsafe.is_replaying():
        workflow.deprecate_patch("batches-of-10000")
    return size


def epoch_ms(at: datetime) -> int:
    return int((at - datetime(1970, 1, 1, tzinfo=at.tzinfo)) / timedelta(milliseconds=1))


def _child_retry_policy(max_attempts: int) -> RetryPolicy:
    return RetryPolicy(
        maximum_attempts=max(max_attempts, 1),
        initial_interval=RETRY_INITIAL_INTERVAL,
        backoff_coefficient=RETRY_BACKOFF,
    )


def _attempt_from(error: ApplicationError) -> int:
    details = error.details
    if details and isinstance(details[0], dict):
        return int(details[0].get("attempt", 1))
    return 1
