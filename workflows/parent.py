"""ParentWorkflow: fan out to child workflows, fan in with ``asyncio.gather(return_exceptions=True)``.

Differences from the lab's ParentWorkflow, each a defect designed out:
- child ids come from the parent's id and the value's position, not ``child-{value}``, so
  duplicate values and identical concurrent runs never collide;
- a failed child is reported with its *own* error (the ``ChildWorkflowError``'s cause);
- at most MAX_PENDING_CHILDREN children are pending at once and at most MAX_CHILD_WORKFLOWS
  are started (larger runs go in batches), so no size hits Temporal's 2,000-pending limit;
- progress is queryable and a run can be cancelled with partial results.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, ChildWorkflowError

with workflow.unsafe.imports_passed_through():
    from workflows.child import CHILD_WORKFLOWS, RETRY_BACKOFF, RETRY_INITIAL_INTERVAL, BatchWorkflow
    from workflows.model import (
        MAX_PENDING_CHILDREN,
        RESULT_LIST_LIMIT,
        BatchInput,
        BatchOutput,
        ChildInput,
        ChildOutput,
        ChildSpan,
        FailedChild,
        FanoutRequest,
        FanoutResult,
        Progress,
        SlackMessage,
        SuccessfulResult,
    )
    from workflows.values import compress, count_values, iter_values, plan_batch_size, slice_ranges


@dataclass
class _Cancelled:
    """Stands in for a child that was cancelled or never started because the run was."""


@workflow.defn
class ParentWorkflow:
    def __init__(self) -> None:
        self._progress = Progress(total=0)
        self._started_at: datetime | None = None
        self._cancel_requested = False

    @workflow.run
    async def run(self, request: FanoutRequest | list[int]) -> FanoutResult:
        if isinstance(request, list):  # the lab's terminal scenarios: --input '[1, 3, 5, 7, 9]'
            request = FanoutRequest(ranges=compress(request))
        self._started_at = workflow.now()
        total = count_values(request.ranges)
        self._progress.total = total
        batch_size = plan_batch_size(total, request.batch_size)
        workflow.logger.info("Fan-out of %d values, %d per child", total, batch_size)
        run = _Run(self, request, batch_size)
        try:
            await run.dispatch_and_gather()
        except asyncio.CancelledError:
            # Cancelled from outside (UI, CLI, client): stop the children, then report what ran.
            self._cancel_requested = True
            await run.cancel_and_settle()
        result = run.result(self._elapsed_s())
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
    def attach_message(self, message: SlackMessage) -> None:
        """Where the run's Slack message is, kept in the memo so any bot replica (or a restarted
        one) can find the thread to report in. Workflow code does no I/O; the bot does."""
        workflow.upsert_memo({"slack_message_ts": message.message_ts, "slack_thread_ts": message.thread_ts})

    @workflow.query
    def progress(self) -> Progress:
        self._progress.elapsed_s = self._elapsed_s()
        return self._progress

    def _elapsed_s(self) -> float:
        if self._started_at is None:
            return 0.0
        return (workflow.now() - self._started_at).total_seconds()


class _Run:
    """One fan-out: dispatches children into a bounded window and folds their outcomes."""

    def __init__(self, parent: ParentWorkflow, request: FanoutRequest, batch_size: int) -> None:
        self.parent = parent
        self.request = request
        self.batch_size = batch_size
        self.total = count_values(request.ranges)
        self.window = 1 if request.sequential else MAX_PENDING_CHILDREN
        self.pending = 0
        self.tasks: list[asyncio.Task[Any]] = []
        self.spans: list[ChildSpan] = []
        self.successes: list[SuccessfulResult] = []
        self.failures: list[FailedChild] = []
        self.failure_groups: dict[str, int] = {}
        self.child_s_sum = 0.0
        self.id_prefix = workflow.info().workflow_id

    # -- fan-out -------------------------------------------------------------------------
    async def dispatch_and_gather(self) -> None:
        for index, work in enumerate(self._work_items()):
            await workflow.wait_condition(lambda: self.pending < self.window or self.parent._cancel_requested)
            if self.parent._cancel_requested:
                break
            self.pending += 1
            self.tasks.append(asyncio.create_task(self._run_child(index, work)))
        # Fan-in: a failed child never fails the parent.
        gathered = asyncio.gather(*self.tasks, return_exceptions=True)
        cancel_watch = asyncio.create_task(workflow.wait_condition(lambda: self.parent._cancel_requested))
        await workflow.wait([gathered, cancel_watch], return_when=asyncio.FIRST_COMPLETED)
        if not gathered.done():
            await self.cancel_and_settle()
        cancel_watch.cancel()

    async def cancel_and_settle(self) -> None:
        for task in self.tasks:
            task.cancel()  # cancelling the awaiting task requests cancellation of the child
        await asyncio.gather(*self.tasks, return_exceptions=True)

    def _work_items(self) -> Any:
        if self.batch_size == 1:
            return iter_values(self.request.ranges)
        return (
            slice_ranges(self.request.ranges, start, self.batch_size)
            for start in range(0, self.total, self.batch_size)
        )

    # -- one child -----------------------------------------------------------------------
    async def _run_child(self, index: int, work: Any) -> None:
        progress = self.parent._progress
        values = 1 if self.batch_size == 1 else count_values(work)
        progress.running += values
        start = workflow.now()
        status, attempts = "cancelled", 1
        try:
            if self.batch_size == 1:
                status, attempts = await self._run_value_child(index, work)
            else:
                status, attempts = await self._run_batch_child(index, work)
        except asyncio.CancelledError:
            status = "cancelled"
        finally:
            progress.running -= values
            self.pending -= 1
            end = workflow.now()
            self.child_s_sum += (end - start).total_seconds()
            self.spans.append(
                ChildSpan(index, self._ms(start), self._ms(end), status, attempts, values)
            )

    async def _run_value_child(self, index: int, value: int) -> tuple[str, int]:
        req = self.request
        progress = self.parent._progress
        try:
            output: ChildOutput = await workflow.execute_child_workflow(
                CHILD_WORKFLOWS[req.child_type].run,
                ChildInput(value, req.fail, req.delay_min_s, req.delay_max_s, req.child_type),
                id=f"{self.id_prefix}-c{index}",
                retry_policy=_child_retry_policy(req.max_attempts),
            )
        except ChildWorkflowError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                attempts = _attempt_from(cause)
                self._add_failure(FailedChild(value, cause.message, type(cause).__name__, attempts), cause.type or "ApplicationError")
                progress.failed += 1
                return "failed", attempts
            if _is_cancellation(cause):
                return "cancelled", 1
            # Timeouts, terminations: still the child's own failure, reported as such.
            message = str(cause) if cause else str(err)
            self._add_failure(FailedChild(value, message, type(cause or err).__name__), type(cause or err).__name__)
            progress.failed += 1
            return "failed", 1
        progress.succeeded += 1
        if len(self.successes) < RESULT_LIST_LIMIT:
            self.successes.append(SuccessfulResult(value, output.result, output.attempt))
        return "succeeded", output.attempt

    async def _run_batch_child(self, index: int, ranges: Any) -> tuple[str, int]:
        req = self.request
        progress = self.parent._progress
        try:
            output: BatchOutput = await workflow.execute_child_workflow(
                BatchWorkflow.run,
                BatchInput(ranges, req.fail, req.max_attempts, req.delay_min_s, req.delay_max_s, req.child_type),
                id=f"{self.id_prefix}-b{index}",
            )
        except ChildWorkflowError as err:
            if _is_cancellation(err.cause):
                return "cancelled", 1
            raise
        values = list(iter_values(output.ranges))
        failed_offsets = {f.offset for f in output.failures}
        for f in output.failures:
            self._add_failure(FailedChild(values[f.offset], f.error, "ApplicationError", f.attempts), f.kind)
        for offset, result in enumerate(output.results):
            if result is not None and len(self.successes) < RESULT_LIST_LIMIT:
                attempts = output.attempts[offset] if output.attempts else 1
                self.successes.append(SuccessfulResult(values[offset], result, attempts))
        progress.failed += len(failed_offsets)
        progress.succeeded += len(values) - len(failed_offsets)
        status = "failed" if len(failed_offsets) == len(values) else "mixed" if failed_offsets else "succeeded"
        return status, max(output.attempts or [1])

    def _add_failure(self, failure: FailedChild, kind: str) -> None:
        self.failure_groups[kind] = self.failure_groups.get(kind, 0) + 1
        if len(self.failures) < RESULT_LIST_LIMIT:
            self.failures.append(failure)

    def _ms(self, at: datetime) -> int:
        assert self.parent._started_at is not None
        return int((at - self.parent._started_at) / timedelta(milliseconds=1))

    # -- fan-in --------------------------------------------------------------------------
    def result(self, wall_s: float) -> FanoutResult:
        progress = self.parent._progress
        succeeded, failed = progress.succeeded, progress.failed
        # Lists in value order as the lab returns them: children finish in any order.
        order = {v: i for i, v in enumerate(iter_values(self.request.ranges))} if self.total <= RESULT_LIST_LIMIT else None
        if order is not None:
            self.successes.sort(key=lambda s: order.get(s.value, 0))
            self.failures.sort(key=lambda f: order.get(f.value, 0))
        self.spans.sort(key=lambda s: s.index)
        return FanoutResult(
            total_children=self.total,
            successful_results=self.successes,
            failed_children=self.failures,
            success_count=succeeded,
            failure_count=failed,
            success_rate=succeeded / self.total if self.total else 0,
            cancelled_count=self.total - succeeded - failed,
            status="cancelled" if self.parent._cancel_requested else "completed",
            cancelled_by=progress.cancel_requested_by,
            sequential=self.request.sequential,
            batch_size=self.batch_size,
            child_workflow_count=len(self.spans),
            wall_s=wall_s,
            child_s_sum=self.child_s_sum,
            results_complete=len(self.successes) == succeeded and len(self.failures) == failed,
            failure_groups=self.failure_groups,
            spans=self.spans,
        )


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


def _is_cancellation(error: BaseException | None) -> bool:
    from temporalio.exceptions import CancelledError

    return isinstance(error, CancelledError)
