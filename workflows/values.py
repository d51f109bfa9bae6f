"""Value ranges: counting, iterating and slicing without expanding them. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from workflows.model import (
    BATCH_TARGET,
    BATCHES_PER_WORKFLOW,
    HISTORY_BUDGET_BYTES,
    MAX_BATCH_SIZE,
    MAX_CHILD_WORKFLOWS,
    RESULT_BYTES_PER_VALUE,
    ValueRange,
)

__all__ = ["MAX_BATCH_SIZE", "batch_count", "batch_problem", "batches_per_workflow", "chunk_ranges", "compress",
           "count_values", "iter_values", "plan_batch_size", "plan_shards", "run_batch_size"]


def count_values(ranges: Sequence[ValueRange]) -> int:
    return sum(r.end - r.start + 1 for r in ranges)


def iter_values(ranges: Sequence[ValueRange]) -> Iterator[int]:
    for r in ranges:
        yield from range(r.start, r.end + 1)


def chunk_ranges(ranges: Sequence[ValueRange], size: int) -> Iterator[list[ValueRange]]:
    """Consecutive chunks of ``size`` values (the last may be shorter), in one pass."""
    chunk: list[ValueRange] = []
    room = size
    for r in ranges:
        start = r.start
        while start <= r.end:
            take = min(room, r.end - start + 1)
            chunk.append(ValueRange(start, start + take - 1))
            start += take
            room -= take
            if room == 0:
                yield chunk
                chunk, room = [], size
    if chunk:
        yield chunk


def compress(values: Sequence[int]) -> list[ValueRange]:
    """Runs of consecutive values become one range (the lab's plain list input)."""
    out: list[ValueRange] = []
    for v in values:
        if out and out[-1].end + 1 == v:
            out[-1].end = v
        else:
            out.append(ValueRange(v, v))
    return out


def plan_batch_size(total: int, requested: int = 0) -> int:
    """Values per child workflow: 1 (the lab's model) up to MAX_CHILD_WORKFLOWS values; above
    that, BATCH_TARGET batches (progress moves in 1% steps) of up to MAX_BATCH_SIZE values each:
    1,001 values are 91 batches of 11, 100,000 are 100 of 1,000, 1,000,000 are 100 of 10,000 (in
    4 shards, batches_per_workflow); above 1,000,000 the batches stay at MAX_BATCH_SIZE."""
    if requested > 0:
        return requested
    if total <= MAX_CHILD_WORKFLOWS:
        return 1
    return min(MAX_BATCH_SIZE, math.ceil(total / BATCH_TARGET))


def run_batch_size(total: int, requested: int) -> int:
    """Values per child of a run's root: the plan, or what was asked for if it can run (the parser refuses the
    rest; other callers, such as the lab's `temporal workflow start`, get the plan)."""
    size = plan_batch_size(total, requested)
    if (size == 1 and total > MAX_CHILD_WORKFLOWS) or size > MAX_BATCH_SIZE:
        size = plan_batch_size(total)
    return size


def batch_count(total: int, batch_size: int) -> int:
    return math.ceil(total / batch_size) if total else 0


def batches_per_workflow(batch_size: int, value_bytes: int = RESULT_BYTES_PER_VALUE) -> int:
    """Batch children one workflow (the root, or a shard) owns at most: BATCHES_PER_WORKFLOW, or as many
    as keep the batch results in its history within HISTORY_BUDGET_BYTES at worst (25 of 10,000 values;
    ``value_bytes`` per value at worst: the lab's ints, or a team's JSON)."""
    return max(1, min(BATCHES_PER_WORKFLOW, HISTORY_BUDGET_BYTES // (max(batch_size, 1) * value_bytes)))


def plan_shards(batches: int, batch_size: int, value_bytes: int = RESULT_BYTES_PER_VALUE) -> int:
    """Shard workflows for a run of ``batches`` batch children of ``batch_size`` values: 0 (the root
    starts them itself) up to batches_per_workflow, else enough shards of that many batches each."""
    per_workflow = batches_per_workflow(batch_size, value_bytes)
    if batches <= per_workflow:
        return 0
    return math.ceil(batches / per_workflow)


def batch_problem(total: int, batch_size: int) -> str | None:
    """Why this batch size cannot run, or None."""
    if batch_size > MAX_BATCH_SIZE:
        return f"`--batch` is at most {MAX_BATCH_SIZE:,} values per child"
    children = batch_count(total, batch_size)
    if children > MAX_CHILD_WORKFLOWS:
        least = math.ceil(total / MAX_CHILD_WORKFLOWS)
        if least > MAX_BATCH_SIZE:
            return (
                f"{total:,} values is too many for one run: at most {MAX_CHILD_WORKFLOWS:,} child workflows of "
                f"{MAX_BATCH_SIZE:,} values ({MAX_CHILD_WORKFLOWS * MAX_BATCH_SIZE:,} values) — split it"
            )
        return (
            f"`--batch {batch_size}` would start {children:,} child workflows; a run has at most "
            f"{MAX_CHILD_WORKFLOWS:,} — use `--batch {least}` or more"
        )
    return None
