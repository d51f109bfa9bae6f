"""ParentWorkflow: fan out to child workflows, fan in with ``asyncio.gather(return_exceptions=True)``.

Differences from the lab's ParentWorkflow, each a defect designed out:
- child ids come from the run's id and the value's (or batch's) position, not ``child-{value}``,
  so duplicate values and identical concurrent runs never collide;
- a failed child is reported with its *own* error (the ``ChildWorkflowError``'s cause);
- at most MAX_PENDING_CHILDREN children are pending at once, and runs over MAX_CHILD_WORKFLOWS
  values go in batches, so no size hits Temporal's 2,000-pending limit;
- runs with more batches than one history should hold are split into shards — this same workflow
  type, started by the run's root with ``FanoutRequest.shard`` set — so every history stays small;
- progress is queryable (batches that take a while signal their counts to their parent, shards theirs
  to the root) and a run can be cancelled with partial results at any size — promptly: at most
  MAX_STARTING_CHILDREN child starts are in flight at once, so a cancel never waits behind hundreds of them.

One fan-out is a whole run, or one shard of it. Its children are of three kinds: one value (per-value mode, ids
``{run}-c{position}``), one batch (BatchWorkflow, ids ``{run}-b{global batch index}`` whoever starts it), or one
shard (a ParentWorkflow owning workflows.values.batches_per_workflow batches, ids ``{run}-s{index}``). Reading top
to bottom: the run, its signals and query, the plan, dispatch into a bounded window, each kind of child, then the
fan-in (workflows.fanin folds the outcomes). Workflow code: deterministic, no I/O, run inside the sandbox.
"""

# No `from __future__ import annotations`: the sandbox imports this module for every run, and the workflow
# definition reads its handlers' type hints then; string annotations would be compiled and evaluated anew.
import asyncio
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError, ChildWorkflowError
from temporalio.workflow import ParentClosePolicy

# Imported inside the sandbox (re-imported per run, its calls checked); workflows.model's data types
# are passed through by runtime.worker.WORKFLOW_RUNNER.
from workflows.fanin import Fold, result_problem
from workflows.model import (
    BATCHES_PER_WORKFLOW,
    CHILD_WORKFLOW_TYPES,
    MAX_PENDING_CHILDREN,
    MAX_RESULT_BYTES,
    MAX_STARTING_CHILDREN,
    RESULT_BYTES_PER_VALUE,
    RESULT_LIST_LIMIT,
    RESULT_SAMPLE,
    RETRY_BACKOFF,
    RETRY_INITIAL_INTERVAL,
    SHARD_PROGRESS_INTERVAL_S,
    BatchInput,
    BatchOutput,
    BatchProgress,
    ChildInput,
    ChildOutput,
    ChildSpan,
    FailedChild,
    FanoutRequest,
    FanoutResult,
    PluginBatchInput,
    PluginInput,
    Progress,
    ShardProgress,
    ShardSpec,
)
from workflows.signals import tell
from workflows.values import (
    batch_count,
    batches_per_workflow,
    chunk_ranges,
    compress,
    count_values,
    iter_values,
    plan_shards,
    run_batch_size,
)

# Children outlive their parent only by accident (say, the run was terminated from the UI);
# then they are asked to cancel, as in any cancelled run, rather than killed (Temporal's default).
CHILDREN_OUTLIVING_PARENT = ParentClosePolicy.REQUEST_CANCEL


@workflow.defn
class ParentWorkflow:
    def __init__(self) -> None:
        self._progress = Progress(total=0)
        self._started_at: datetime | None = None
        self._cancel_requested = False
        self._shard_live: dict[int, ShardProgress] = {}  # running shards' last reported counts
        self._shards_done: set[int] = set()
        self._batch_live: dict[int, BatchProgress] = {}  # running batches' last reported counts
        self._batches_done: set[int] = set()
        self._pending = 0  # children started and not closed
        self._unstarted: set[int] = set()  # children whose start is in flight: not cancellable yet
        self._cancelling = False
        self._children: list[asyncio.Task[Any]] = []

    @workflow.run
    async def run(self, request: FanoutRequest | list[int]) -> FanoutResult:
        if isinstance(request, list):  # the lab's terminal scenarios: --input '[1, 3, 5, 7, 9]'
            request = FanoutRequest(ranges=compress(request))
        self._started_at = workflow.now()
        self._plan(request)
        self._progress.total = self._total
        workflow.logger.info("Fan-out of %d values, %d per child, %d shards%s", self._total, self._batch_size,
                             self._shards, f" (shard {request.shard.index})" if request.shard else "")
        reporter = asyncio.create_task(self._report_to_root(request.shard)) if request.shard else None
        try:
            await self._dispatch_and_gather()
        except asyncio.CancelledError:
            # Cancelled from outside (UI, CLI, client — or, for a shard, by its root): stop the
            # children, then return what ran. A shard's partial result reaches its root normally.
            self._cancel_requested = True
            await self._cancel_and_settle()
        if reporter is not None:
            reporter.cancel()
        result = self._result(self._elapsed_s())
        self._progress.cancelled = result.cancelled_count
        self._progress.done = True
        return result

    @workflow.signal
    def request_cancel(self, cancelled_by: str) -> None:
        """Cancel with an audit trail: who asked is kept in the memo and in the result."""
        if not self._cancel_requested:
            self._cancel_requested = True
            self._progress.cancel_requested_by = cancelled_by
            workflow.upsert_memo({"cancelled_by": cancelled_by})

    @workflow.signal
    def shard_progress(self, update: ShardProgress) -> None:
        """A running shard's cumulative counts (replaced by its result when it finishes)."""
        if update.shard not in self._shards_done:
            self._shard_live[update.shard] = update

    @workflow.signal
    def batch_progress(self, update: BatchProgress) -> None:
        """A running batch's counts of values done (replaced by its result when it finishes)."""
        if update.index not in self._batches_done:
            self._batch_live[update.index] = update

    @workflow.query
    def progress(self) -> Progress:
        succeeded, failed, running = self._own_counts()
        live = self._shard_live.values()
        return replace(
            self._progress,
            succeeded=succeeded + sum(s.succeeded for s in live),
            failed=failed + sum(s.failed for s in live),
            running=running + sum(s.running for s in live),
            elapsed_s=self._elapsed_s(),
        )

    def _own_counts(self) -> tuple[int, int, int]:
        """(succeeded, failed, running) of this workflow's own children, running batches' reports included."""
        p = self._progress
        done_ok = sum(b.succeeded for b in self._batch_live.values())
        done_failed = sum(b.failed for b in self._batch_live.values())
        return p.succeeded + done_ok, p.failed + done_failed, p.running - done_ok - done_failed

    def _elapsed_s(self) -> float:
        if self._started_at is None:
            return 0.0
        return (workflow.now() - self._started_at).total_seconds()

    async def _report_to_root(self, spec: ShardSpec) -> None:
        """A shard's progress, signalled to its root when it changed, at most every
        SHARD_PROGRESS_INTERVAL_S (a durable timer: deterministic, and no timer while idle)."""
        sent = (0, 0, 0)
        while True:
            await workflow.wait_condition(lambda: self._own_counts() != sent)  # noqa: B023
            sent = self._own_counts()
            if not await tell(spec.root_id, "shard_progress", ShardProgress(spec.index, *sent)):
                return  # the root has closed: nobody to tell
            await workflow.sleep(SHARD_PROGRESS_INTERVAL_S)

    # -- the plan: what kind of children, how many at once ------------------------------------------

    def _plan(self, request: FanoutRequest) -> None:
        self._request = request
        spec = request.shard
        self._total = count_values(request.ranges)
        self._batch_size = spec.batch_size if spec else _batch_size(self._total, request.batch_size)
        self._per_value = self._batch_size == 1 and spec is None
        batches = batch_count(self._total, self._batch_size)
        # A team's results are bigger than the lab's ints: fewer of its batches per history.
        value_bytes = MAX_RESULT_BYTES if request.plugin else RESULT_BYTES_PER_VALUE
        self._shards = 0 if spec or self._per_value else plan_shards(batches, self._batch_size, value_bytes)
        self._per_shard = batches_per_workflow(self._batch_size, value_bytes)  # batches a shard owns
        self._root_id = spec.root_id if spec else workflow.info().workflow_id
        self._first_batch = spec.first_batch if spec else 0
        assert self._started_at is not None
        self._epoch_ms = spec.root_started_ms if spec else epoch_ms(self._started_at)
        self._window = 1 if request.sequential else MAX_PENDING_CHILDREN if self._per_value else BATCHES_PER_WORKFLOW
        # Starts in flight are bounded too: a child cannot be cancelled before its start lands, and the
        # server starts children at its own pace, so a cancel must not find hundreds of starts queued.
        # Histories from before the patch initiated the whole window at once; the marker is recorded
        # in the run's first workflow task. The bound binds only above MAX_STARTING_CHILDREN children, so
        # smaller runs, the same either way, do not record it (two events and a search attribute update in
        # their first task). A replay still asks: histories recorded before that carry it at every size,
        # and the SDK fails a replay whose recorded marker is never asked for.
        children = self._total if self._per_value else self._shards or batches
        ask = children > MAX_STARTING_CHILDREN or workflow.unsafe.is_replaying()
        bounded = workflow.patched("bounded-child-starts") if ask else True
        self._start_window = MAX_STARTING_CHILDREN if bounded else self._window
        self._fold = Fold(RESULT_LIST_LIMIT if self._per_value else RESULT_SAMPLE)

    # -- fan-out ------------------------------------------------------------------------------------

    async def _dispatch_and_gather(self) -> None:
        for index, work in enumerate(self._work_items()):
            await workflow.wait_condition(lambda: self._room() or self._cancel_requested)
            if self._cancel_requested:
                break
            self._pending += 1
            self._unstarted.add(index)
            self._children.append(asyncio.create_task(self._run_child(index, work)))
        # Fan-in: a failed child never fails the parent.
        gathered: asyncio.Future[Any] = asyncio.gather(*self._children, return_exceptions=True)
        cancel_watch: asyncio.Future[Any] = asyncio.create_task(
            workflow.wait_condition(lambda: self._cancel_requested))
        await workflow.wait([gathered, cancel_watch], return_when=asyncio.FIRST_COMPLETED)
        if not gathered.done():
            await self._cancel_and_settle()
        cancel_watch.cancel()

    def _room(self) -> bool:
        return self._pending < self._window and len(self._unstarted) < self._start_window

    async def _cancel_and_settle(self) -> None:
        # Cancelling the awaiting task sends the child a cancel request; the task then waits for
        # the child to close (a shard returns its partial result, which is folded in).
        # Runs cancelled before this way of cancelling recorded no marker; they are below the compatibility
        # floor (CHANGELOG.md), so the patch is deprecated: the marker may be in a history, or not.
        workflow.deprecate_patch("cancel-started-children-only")
        # A cancel sent while a child's start is in flight is lost: the server starts the child
        # anyway and it runs on, unasked (or is killed when its parent closes). Those children
        # are cancelled by _start_child as soon as their start lands.
        first_time, self._cancelling = not self._cancelling, True
        if first_time:
            for index, task in enumerate(self._children):
                if index not in self._unstarted:
                    task.cancel()
        # Shielded: a cancel from outside arriving now must not cancel children still starting.
        await asyncio.shield(asyncio.gather(*self._children, return_exceptions=True))

    def _work_items(self) -> Any:
        if self._per_value:
            return iter_values(self._request.ranges)
        if self._shards:
            return chunk_ranges(self._request.ranges, self._per_shard * self._batch_size)
        return chunk_ranges(self._request.ranges, self._batch_size)

    # -- one child ----------------------------------------------------------------------------------

    async def _run_child(self, index: int, work: Any) -> None:
        if self._shards:
            try:
                await self._run_shard(index, work)
            finally:
                self._pending -= 1
            return
        progress = self._progress
        values = 1 if self._per_value else count_values(work)
        progress.running += values
        start = workflow.now()
        status, attempts, succeeded, failed = "cancelled", 1, 0, 0
        try:
            if self._per_value:
                status, attempts = await self._run_value_child(index, work)
                succeeded, failed = int(status == "succeeded"), int(status == "failed")
            else:
                status, attempts, succeeded, failed = await self._run_batch_child(index, work)
        except asyncio.CancelledError:
            status = "cancelled"
        finally:
            # No workflow calls in here: evicted from the worker's cache, a workflow's coroutines are
            # closed outside its event loop (GeneratorExit), where workflow.now() raises.
            progress.running -= values
            self._pending -= 1
            if not self._per_value:
                self._batch_finished(self._first_batch + index)  # its result replaces what it reported
        end = workflow.now()
        span_index = index if self._per_value else self._first_batch + index
        self._fold.span(ChildSpan(span_index, self._ms(start), self._ms(end), status, attempts, values, succeeded,
                                  failed), (end - start).total_seconds())

    def _batch_finished(self, index: int) -> None:
        self._batches_done.add(index)
        self._batch_live.pop(index, None)

    def _shard_finished(self, index: int) -> None:
        self._shards_done.add(index)
        self._shard_live.pop(index, None)

    async def _run_value_child(self, index: int, value: int) -> tuple[str, int]:
        req = self._request
        progress = self._progress
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
            self._fold.value_failed(index, failure)
            progress.failed += 1
            return "failed", attempts
        problem = result_problem(output.result) if req.plugin else None
        if problem:  # a team's workflow returned more than a result may be
            self._fold.value_failed(index, FailedChild(value, problem, "ApplicationError", output.attempt,
                                                      "ResultTooLarge"))
            progress.failed += 1
            return "failed", output.attempt
        self._fold.value_succeeded(index, value, output.result, output.attempt)
        progress.succeeded += 1
        return "succeeded", output.attempt

    async def _start_value_child(self, index: int, value: int) -> Any:
        """One value's child: the lab's (its failure rule and delay), or a team's own, on its own task queue
        (its workflow with the value; or PluginChildWorkflow, which makes its own attempts)."""
        req, plugin = self._request, self._request.plugin
        child_id = f"{self._root_id}-c{index}"
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

    async def _run_batch_child(self, index: int, ranges: Any) -> tuple[str, int, int, int]:
        """A batch's (status, most attempts of a value, values succeeded, values failed)."""
        req = self._request
        progress = self._progress
        pos = index * self._batch_size
        batch = self._first_batch + index
        try:
            if req.plugin is None:
                raw = await (await self._start_child(
                    index, "BatchWorkflow",  # untyped: see workflows.batch.as_payload
                    BatchInput(ranges, req.fail, req.max_attempts, req.delay_min_s, req.delay_max_s, req.child_type,
                               batch),
                    id=f"{self._root_id}-b{batch}",
                ))
            else:  # a team's activity, once per value, on its own task queue (workflows.plugin)
                raw = await (await self._start_child(
                    index, "PluginBatchWorkflow",  # by name, as BatchWorkflow
                    PluginBatchInput(ranges, req.plugin.activity, req.max_attempts, batch),
                    id=f"{self._root_id}-b{batch}", task_queue=req.plugin.task_queue,
                ))
        except ChildWorkflowError as err:
            if isinstance(err.cause, CancelledError):
                return "cancelled", 1, 0, 0
            # Terminated, timed out: every value of the batch failed with the batch's error.
            values = list(iter_values(ranges))
            kind = type(err.cause or err).__name__
            self._fold.batch_failed(pos, values, str(err.cause or err), kind)
            progress.failed += len(values)
            return "failed", 1, 0, len(values)
        output = BatchOutput(**raw)
        values = list(iter_values(ranges))
        succeeded, failed = self._fold.batch(pos, values, output)
        progress.succeeded += succeeded
        progress.failed += failed
        status = ("succeeded" if succeeded == len(values) else "failed" if failed == len(values)
                  else "cancelled" if succeeded + failed == 0 else "mixed")
        return status, max(output.attempts or [1]), succeeded, failed

    async def _run_shard(self, index: int, ranges: Any) -> None:
        spec = ShardSpec(self._root_id, index, index * self._per_shard, self._batch_size, self._epoch_ms)
        try:
            result = await (await self._start_child(
                index, "ParentWorkflow",  # this workflow type again, as a shard
                replace(self._request, ranges=ranges, batch_size=self._batch_size, shard=spec),
                id=f"{self._root_id}-s{index}",
                result_type=FanoutResult,
            ))
        except (ChildWorkflowError, asyncio.CancelledError) as err:
            # Cancelled before it started, or lost (terminated): its values never finished.
            workflow.logger.warning("Shard %d ended without a result: %s", index, err)
            self._shard_finished(index)
            return
        self._shard_finished(index)
        self._fold.shard(index * self._per_shard * self._batch_size, result)
        self._progress.succeeded += result.success_count
        self._progress.failed += result.failure_count

    async def _start_child(self, index: int, workflow_fn: Any, arg: Any, **options: Any) -> Any:
        """Start one child (the same commands as execute_child_workflow); its handle, which
        is already cancelled if the run was cancelled while the start was in flight."""
        try:
            handle = await workflow.start_child_workflow(
                workflow_fn, arg, parent_close_policy=CHILDREN_OUTLIVING_PARENT, **options)
        finally:
            self._unstarted.discard(index)
        if self._cancelling:
            handle.cancel()  # sends the cancel request; awaiting the handle gives its outcome
        return handle

    def _ms(self, at: datetime) -> int:
        return epoch_ms(at) - self._epoch_ms

    # -- fan-in --------------------------------------------------------------------------------------

    def _result(self, wall_s: float) -> FanoutResult:
        progress = self._progress
        cancelled = self._total - self._fold.succeeded - self._fold.failed
        return self._fold.result(
            self._total,
            status="cancelled" if self._cancel_requested or cancelled else "completed",
            cancelled_by=progress.cancel_requested_by,
            sequential=self._request.sequential,
            batch_size=self._batch_size,
            wall_s=wall_s,
            shard_count=self._shards,
        )


def _batch_size(total: int, requested: int) -> int:
    """Values per child of a run's root (workflows.values.run_batch_size)."""
    size = run_batch_size(total, requested)
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
