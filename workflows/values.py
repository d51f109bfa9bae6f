"""Value ranges: counting, iterating and slicing without expanding them. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from workflows.model import BATCHES_PER_WORKFLOW, MAX_CHILD_WORKFLOWS, ValueRange

# Values per batch child at most. A batch returns one int per value plus compact failures:
# 2,000 values are ~10-40 KB (~80 KB at worst, with 25-digit results that all fail), far
# under Temporal's 512 KiB payload warning; 100 such results keep a history at a few MB.
MAX_BATCH_SIZE = 2000


def count_values(ranges: Sequence[ValueRange]) -> int:
    return sum(r.end - r.start + 1 for r in ranges)


def iter_values(ranges: Sequence[ValueRange]) -> Iterator[int]:
    for r in ranges:
        yield from range(r.start, r.end + 1)


def slice_ranges(ranges: Sequence[ValueRange], start: int, count: int) -> list[ValueRange]:
    """The ranges holding values ``start .. start+count-1`` (positions, not values)."""
    out: list[ValueRange] = []
    pos = 0
    for r in ranges:
        size = r.end - r.start + 1
        if pos + size <= start:
            pos += size
            continue
        lo = max(start - pos, 0)
        hi = min(start + count - pos, size)
        if lo < hi:
            out.append(ValueRange(r.start + lo, r.start + hi - 1))
        pos += size
        if pos >= start + count:
            break
    return out


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
    that, BATCHES_PER_WORKFLOW batches (so runs up to 200,000 values need no shards and progress
    moves in 1% steps), capped at MAX_BATCH_SIZE values each (so larger runs have more batches,
    split into shards: 1,000,000 values are 500 batches in 5 shards)."""
    if requested > 0:
        return requested
    if total <= MAX_CHILD_WORKFLOWS:
        return 1
    return min(MAX_BATCH_SIZE, math.ceil(total / BATCHES_PER_WORKFLOW))


def batch_count(total: int, batch_size: int) -> int:
    return math.ceil(total / batch_size) if total else 0


def plan_shards(batches: int) -> int:
    """Shard workflows for a run of ``batches`` batch children: 0 (the root starts them itself)
    up to BATCHES_PER_WORKFLOW, else enough shards of <= BATCHES_PER_WORKFLOW batches each."""
    if batches <= BATCHES_PER_WORKFLOW:
        return 0
    return math.ceil(batches / BATCHES_PER_WORKFLOW)


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
