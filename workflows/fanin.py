"""Fan-in: folding children's outcomes into one FanoutResult. Pure (no workflow calls, no I/O),
shared by a run's root ParentWorkflow and its shards, and testable anywhere.

Counts and failure groups are exact. The value lists keep the first ``list_limit`` entries in
value order (by position in the run): complete for per-value runs, a sample for batched ones.
Positions only order the samples; they never leave this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from workflows.model import (
    MAX_RESULT_BYTES,
    BatchOutput,
    ChildSpan,
    FailedChild,
    FanoutResult,
    SuccessfulResult,
)
from workflows.rules import failure_message


def result_problem(result: Any) -> str | None:
    """Why a team's child's result cannot be a run's result (not JSON, or over MAX_RESULT_BYTES), or None."""
    try:
        size = len(json.dumps(result, separators=(",", ":")).encode())
    except (TypeError, ValueError) as err:
        return f"the result is not JSON ({err})"
    if size > MAX_RESULT_BYTES:
        return f"the result is {size:,} bytes of JSON; a child's result may be at most {MAX_RESULT_BYTES:,}"
    return None


class Fold:
    def __init__(self, list_limit: int) -> None:
        self.limit = list_limit
        self.succeeded = 0
        self.failed = 0
        self.failure_groups: dict[str, int] = {}
        self.successes: list[tuple[int, SuccessfulResult]] = []
        self.failures: list[tuple[int, FailedChild]] = []
        self.spans: list[ChildSpan] = []
        self.child_s_sum = 0.0

    # -- samples, kept bounded: sorted and cut whenever they reach twice the limit ----------------
    def _keep(self, items: list, pos: int, item: object) -> None:  # type: ignore[type-arg]
        items.append((pos, item))
        if len(items) >= 2 * self.limit:
            items.sort(key=lambda pair: pair[0])
            del items[self.limit:]

    def _group(self, kind: str, count: int = 1) -> None:
        self.failure_groups[kind] = self.failure_groups.get(kind, 0) + count

    # -- one value (per-value children) -----------------------------------------------------------
    def value_succeeded(self, pos: int, value: int, result: int, attempts: int) -> None:
        self.succeeded += 1
        self._keep(self.successes, pos, SuccessfulResult(value, result, attempts))

    def value_failed(self, pos: int, failure: FailedChild) -> None:
        self.failed += 1
        self._group(failure.kind or failure.type)
        self._keep(self.failures, pos, failure)

    # -- one batch --------------------------------------------------------------------------------
    def batch(self, pos: int, values: Sequence[int], output: BatchOutput) -> tuple[int, int]:
        """Folds a batch's compact output; returns its (succeeded, failed) counts."""
        failed = len(output.failures)
        succeeded = len(values) - failed - len(output.cancelled)
        self.succeeded += succeeded
        self.failed += failed
        for _, kind_index, _ in output.failures:
            self._group(output.kinds[kind_index])
        # Only a batch's first `limit` entries can be among the run's first `limit`.
        for j, (offset, kind_index, attempts) in enumerate(output.failures[: self.limit]):
            kind = output.kinds[kind_index]
            message = (output.messages[j] if output.messages
                       else failure_message(output.templates.get(kind, kind), values[offset]))
            self._keep(self.failures, pos + offset,
                       FailedChild(values[offset], message, "ApplicationError", attempts, kind))
        kept = 0
        for offset, result in enumerate(output.results):
            if result is None:
                continue
            attempts = output.attempts[offset] if output.attempts else 1
            self._keep(self.successes, pos + offset, SuccessfulResult(values[offset], result, attempts))
            kept += 1
            if kept >= self.limit:
                break
        return succeeded, failed

    def batch_failed(self, pos: int, values: Sequence[int], message: str, kind: str) -> None:
        """A batch that failed as a whole (terminated, timed out): each value failed with its error."""
        self.failed += len(values)
        self._group(kind, len(values))
        for offset, value in enumerate(values[: self.limit]):
            self._keep(self.failures, pos + offset, FailedChild(value, message, kind, 1, kind))

    # -- one shard (its samples are already in value order) ---------------------------------------
    def shard(self, pos: int, result: FanoutResult) -> None:
        self.succeeded += result.success_count
        self.failed += result.failure_count
        for kind, count in result.failure_groups.items():
            self._group(kind, count)
        for i, success in enumerate(result.successful_results[: self.limit]):
            self._keep(self.successes, pos + i, success)
        for i, failure in enumerate(result.failed_children[: self.limit]):
            self._keep(self.failures, pos + i, failure)
        self.spans.extend(result.spans)
        self.child_s_sum += result.child_s_sum

    def span(self, span: ChildSpan, duration_s: float) -> None:
        self.spans.append(span)
        self.child_s_sum += duration_s

    # -- the result -------------------------------------------------------------------------------
    def result(self, total: int, **fields: object) -> FanoutResult:
        successes = [s for _, s in sorted(self.successes, key=lambda pair: pair[0])[: self.limit]]
        failures = [f for _, f in sorted(self.failures, key=lambda pair: pair[0])[: self.limit]]
        self.spans.sort(key=lambda s: s.index)
        return FanoutResult(
            total_children=total,
            successful_results=successes,
            failed_children=failures,
            success_count=self.succeeded,
            failure_count=self.failed,
            success_rate=self.succeeded / total if total else 0,
            cancelled_count=total - self.succeeded - self.failed,
            child_workflow_count=len(self.spans),
            child_s_sum=self.child_s_sum,
            results_complete=len(successes) == self.succeeded and len(failures) == self.failed,
            failure_groups=dict(sorted(self.failure_groups.items(), key=lambda kv: (-kv[1], kv[0]))),
            spans=self.spans,
            **fields,  # type: ignore[arg-type]
        )
