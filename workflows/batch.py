"""BatchWorkflow: a batch of values in one child workflow (the lab's "dynamic child spawning"), and
its work. Its own module because the sandbox re-imports a workflow's module, and what it imports, for
every run: a one-value child never compiles a batch's code (workflows.child imports workflows.work
only), and a batch only this and workflows.rules.
"""

# No `from __future__ import annotations` here: string annotations become ForwardRefs compiled
# again for every run.
import asyncio
from typing import Any

from temporalio import workflow

from workflows.model import (
    BATCH_PROGRESS_STEPS_MAX,
    RETRY_BACKOFF,
    RETRY_INITIAL_INTERVAL,
    SHARD_PROGRESS_INTERVAL_S,
    BatchInput,
    BatchOutput,
    BatchProgress,
)
from workflows.rules import FailRule, compute_all, parse_fail_rule
from workflows.signals import tell


@workflow.defn
class BatchWorkflow:
    """Processes a batch of values; returns a compact BatchOutput (as a plain dict, see
    as_payload), retrying failed values in rounds up to ``max_attempts``."""

    @workflow.run
    async def run(self, input: BatchInput) -> BatchOutput:
        return await Batch(input).run()  # type: ignore[no-any-return]


def progress_steps(delay_s: float) -> int:
    """Steps a batch with this delay works in: one per SHARD_PROGRESS_INTERVAL_S of it, at most
    BATCH_PROGRESS_STEPS_MAX; 1 (all at once, after the delay) below two intervals."""
    return max(1, min(BATCH_PROGRESS_STEPS_MAX, int(delay_s // SHARD_PROGRESS_INTERVAL_S)))


class Batch:
    """One batch's values and their outcomes so far.

    Retries happen in rounds inside the batch (one backoff timer per round, not per value), so a
    10,000-value batch with retries stays a handful of history events. The processing delay applies
    once per batch — the batch is the unit of work — drawn as a child's would be. A batch whose delay
    spans several progress intervals works through its values in steps across it (one slice after each
    equal part of the delay) and tells its parent its counts after each step and each retry round
    (``ParentWorkflow.batch_progress``), so the run's progress moves while batches sleep. Cancelled
    before any value is done, the batch is cancelled as a whole; later (between steps, or waiting to
    retry), it returns what it has, the values not done marked cancelled.
    """

    def __init__(self, input: BatchInput) -> None:
        self.input = input
        self.rule: FailRule = parse_fail_rule(input.fail)
        self.rng = workflow.random()
        self.values = [v for r in input.ranges for v in range(r.start, r.end + 1)]  # workflows.values.iter_values
        self.results: list[int | None] = [None] * len(self.values)
        self.tracked = input.max_attempts > 1  # attempts per value matter only with retries
        self.attempts = [1] * len(self.values) if self.tracked else []
        self.failed: dict[int, str] = {}  # offset -> kind of its last failure, in offset order
        self.templates: dict[str, str] = {}
        self.cancelled: list[int] = []

    async def run(self) -> Any:
        input = self.input
        delay = self.rng.uniform(input.delay_min_s, input.delay_max_s) if input.delay_max_s > 0 else 0.0
        steps = progress_steps(delay)
        # Batches started before they reported progress (no index) replay as they ran: one timer, then all.
        reports = (steps > 1 or self.tracked) and input.index >= 0 and workflow.patched("batch-progress")
        if not reports:
            if delay:
                await workflow.sleep(delay)  # cancelled now: the batch is cancelled as a whole
            self._attempt(0, len(self.values))
        elif not await self._first_round_in_steps(delay, steps if steps > 1 else 1):
            return self._output()
        await self._retry_rounds(reports)
        return self._output()

    async def _first_round_in_steps(self, delay: float, steps: int) -> bool:
        """Round one, a slice of the values after each of ``steps`` equal parts of the delay; False if it
        was cancelled after some slices (the rest are cancelled). Cancelled before the first, it raises."""
        n = len(self.values)
        done = 0  # values [0, done) have had their first attempt
        for step in range(steps):
            hi = n * (step + 1) // steps
            try:
                if delay:
                    await workflow.sleep(delay / steps)
                self._attempt(done, hi)
                done = hi
                if step < steps - 1 or self.tracked and self.failed:
                    await self._report(final_failures=not self.tracked)
            except asyncio.CancelledError:
                if done == 0:
                    raise
                self._cancel_rest(list(range(done, n)))
                return False
        return True

    def _cancel_rest(self, not_done: list[int]) -> None:
        """Cancelled: values never attempted, and (with retries) those awaiting one, are cancelled."""
        retrying = list(self.failed) if self.tracked else []
        for i in retrying:
            del self.failed[i]
        self.cancelled = sorted(retrying + not_done)

    async def _retry_rounds(self, reports: bool) -> None:
        interval = RETRY_INITIAL_INTERVAL.total_seconds()
        last = max(self.input.max_attempts, 1)
        for attempt in range(2, last + 1):
            pending = list(self.failed)
            if not pending:
                return
            try:
                await workflow.sleep(interval)
                interval *= RETRY_BACKOFF
                self._retry(pending, attempt)
                if reports and attempt < last and self.failed:
                    await self._report(final_failures=False)
            except asyncio.CancelledError:
                self._cancel_rest([])  # awaiting a retry: neither a result nor a final failure
                return

    def _attempt(self, lo: int, hi: int) -> None:
        """The first attempt of values ``lo .. hi-1``: one pass (rules.FailRule.failing, rules.compute_all)."""
        chunk = self.values[lo:hi]
        self.results[lo:hi] = compute_all(self.input.child_type, chunk)
        failure = self.rule.failure
        fails = self.rule.failing(chunk, self.rng)
        if failure is not None and fails:
            self.templates.setdefault(failure.kind, failure.template)
            for i in fails:
                self.results[lo + i] = None
                self.failed[lo + i] = failure.kind

    def _retry(self, pending: list[int], attempt: int) -> None:
        values = [self.values[i] for i in pending]
        computed = compute_all(self.input.child_type, values)
        still = set(self.rule.failing(values, self.rng))
        for k, i in enumerate(pending):
            self.attempts[i] = attempt
            if k not in still:
                self.failed.pop(i, None)
                self.results[i] = computed[k]

    async def _report(self, final_failures: bool) -> None:
        parent = workflow.info().parent
        if parent is None:
            return
        done = len(self.values) - self.results.count(None)
        failed = len(self.failed) if final_failures else 0
        await tell(parent.workflow_id, "batch_progress", BatchProgress(self.input.index, done, failed))

    def _output(self) -> Any:
        kinds = sorted(self.templates)
        kind_index = {kind: k for k, kind in enumerate(kinds)}
        attempts = self.attempts
        output = BatchOutput(
            results=self.results,
            failures=[[i, kind_index[kind], attempts[i] if attempts else 1] for i, kind in self.failed.items()],
            kinds=kinds,
            templates=self.templates,
            attempts=attempts if any(a > 1 for a in attempts) else [],
            cancelled=self.cancelled,
        )
        return as_payload(output)


def as_payload(output: BatchOutput) -> Any:
    """The output as a plain dict of JSON-ready lists: the same JSON as the dataclass, but the
    converter's dataclass path (``dataclasses.asdict``) deep-copies every list element, ~20× the
    cost at 2,000 values. Readers rebuild it with ``BatchOutput(**payload)`` (workflows.parent,
    bot.runs.results) for the same reason: typed decoding converts element by element."""
    return dict(output.__dict__)
