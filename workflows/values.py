"""Value ranges: counting, iterating and slicing without expanding them. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from workflows.model import MAX_CHILD_WORKFLOWS, ValueRange

# A batch child returns one result per value; 5,000 keeps its payload near 400 KB at worst,
# under Temporal's 512 KiB warning (and far under the 2 MB error).
MAX_BATCH_SIZE = 5000


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
    """Values per child workflow: 1 (the lab's model) up to MAX_CHILD_WORKFLOWS values, then
    just enough per child that a run never has more than MAX_CHILD_WORKFLOWS children."""
    if requested > 0:
        return requested
    if total <= MAX_CHILD_WORKFLOWS:
        return 1
    return math.ceil(total / MAX_CHILD_WORKFLOWS)


def batch_problem(total: int, batch_size: int) -> str | None:
    """Why this batch size cannot run, or None."""
    if batch_size > MAX_BATCH_SIZE:
        return f"`--batch` is at most {MAX_BATCH_SIZE:,} values per child"
    children = math.ceil(total / batch_size) if total else 0
    if children > MAX_CHILD_WORKFLOWS:
        least = math.ceil(total / MAX_CHILD_WORKFLOWS)
        return (
            f"`--batch {batch_size}` would start {children:,} child workflows; a run has at most "
            f"{MAX_CHILD_WORKFLOWS:,} — use `--batch {least}` or more"
        )
    return None
