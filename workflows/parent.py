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
  to the root) and a run can be cancelled
  with partial results at any size — promptly: at most MAX_STARTING_CHILDREN child starts are in
  flight at once, so a cancel never waits behind hundreds of them.
"""

# No `from __future__ import annotations`: the sandbox imports this module for every run, and the workflow
# definition reads its handlers' type hints then; string annotations would be compiled and evaluated anew.
import asyncio
from dataclasses import replace
from datetime import datetime

from temporalio import workflow

# Imported inside the sandbox (re-imported per run, its calls checked); workflows.model's data types
# are passed through by runtime.worker.WORKFLOW_RUNNER.
from workflows.dispatch import FanOut
from workflows.model import (
    SHARD_PROGRESS_INTERVAL_S,
    BatchProgress,
    FanoutRequest,
    FanoutResult,
    Progress,
    ShardProgress,
    ShardSpec,
)
from workflows.values import compress


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

    @workflow.run
    async def run(self, request: FanoutRequest | list[int]) -> FanoutResult:
        if isinstance(request, list):  # the lab's terminal scenarios: --input '[1, 3, 5, 7, 9]'
            request = FanoutRequest(ranges=compress(request))
        self._started_at = workflow.now()
        run = FanOut(self, request)
        self._progress.total = run.total
        workflow.logger.info("Fan-out of %d values, %d per child, %d shards%s", run.total, run.batch_size,
                             run.shards, f" (shard {request.shard.index})" if request.shard else "")
        reporter = asyncio.create_task(self._report_to_root(request.shard)) if request.shard else None
        try:
            await run.dispatch_and_gather()
        except asyncio.CancelledError:
            # Cancelled from outside (UI, CLI, client — or, for a shard, by its root): stop the
            # children, then return what ran. A shard's partial result reaches its root normally.
            self._cancel_requested = True
            await run.cancel_and_settle()
        if reporter is not None:
            reporter.cancel()
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

    def shard_finished(self, index: int) -> None:
        self._shards_done.add(index)
        self._shard_live.pop(index, None)

    def batch_finished(self, index: int) -> None:
        self._batches_done.add(index)
        self._batch_live.pop(index, None)

    def _elapsed_s(self) -> float:
        if self._started_at is None:
            return 0.0
        return (workflow.now() - self._started_at).total_seconds()

    async def _report_to_root(self, spec: ShardSpec) -> None:
        """A shard's progress, signalled to its root when it changed, at most every
        SHARD_PROGRESS_INTERVAL_S (a durable timer: deterministic, and no timer while idle)."""
        root = workflow.get_external_workflow_handle(spec.root_id)
        sent = (0, 0, 0)
        while True:
            await workflow.wait_condition(lambda: self._own_counts() != sent)  # noqa: B023
            sent = self._own_counts()
            try:
                await root.signal(ParentWorkflow.shard_progress, ShardProgress(spec.index, *sent))
            except Exception:  # the root has closed: nobody to tell
                return
            await workflow.sleep(SHARD_PROGRESS_INTERVAL_S)
