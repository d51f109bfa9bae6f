"""The CSV build alone, no Temporal: 1,000,000 rows (100 batches of 10,000, even values failing as the lab's
children do) written by bot.files.csv_file.write_csv a batch at a time (what the reporter does), and the same
rows one ValueRow at a time through ``csv.writer`` (the writer before, still used for any other source of
rows). Prints the seconds, the file's size, the bytes being identical, and the process's peak RSS.

    python -m bench.csv [--values 1000000] [--batch 10000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bot.files.csv_file import write_csv
from bot.runs.results import ValueRow, ValueRows
from workflows.model import BatchOutput, FanoutResult
from workflows.rules import compute_all

TEMPLATE = "Simulated failure for value {value}"


class SyntheticRows(ValueRows):
    """ValueRows over ready (values, outcome) pairs: what bot.runs.results reads from a run's batches."""

    def __init__(self, pairs: list[tuple[list[int], BatchOutput | BaseException | FanoutResult | None]]) -> None:
        super().__init__(None, "synthetic", None, None, 0)  # type: ignore[arg-type]  # batches() needs neither
        self.pairs = pairs

    async def batches(self) -> AsyncIterator[tuple[list[int], BatchOutput | BaseException | FanoutResult | None]]:
        for pair in self.pairs:
            yield pair
            await asyncio.sleep(0)


def lab_batch(start: int, size: int) -> tuple[list[int], BatchOutput]:
    """A BatchWorkflow's output for values start..start+size-1 with the lab's rule (even values fail)."""
    values = list(range(start, start + size))
    results: list[int | None] = list(compute_all("double", values))
    failures = []
    for offset, value in enumerate(values):
        if value % 2 == 0:
            results[offset] = None
            failures.append([offset, 0, 1])
    return values, BatchOutput(results=results, failures=failures, kinds=["SimulatedFailure"],
                               templates={"SimulatedFailure": TEMPLATE})


def synthetic(n: int, batch: int) -> SyntheticRows:
    return SyntheticRows([lab_batch(start, min(batch, n - start + 1)) for start in range(1, n + 1, batch)])


async def one_at_a_time(rows: ValueRows) -> AsyncIterator[ValueRow]:
    async for row in rows:  # a plain async iterable of rows: write_csv's csv.writer path
        yield row


@dataclass
class CsvBuild:
    n: int
    batched_s: float  # median, write_csv from ValueRows.batches()
    rows_s: float  # median, one ValueRow at a time through csv.writer
    mb: float
    identical: bool
    peak_rss_mb: float


async def measure(n: int = 1_000_000, batch: int = 10_000, repeat: int = 3) -> CsvBuild:
    from bench.infra import peak_rss_mb

    rows = synthetic(n, batch)
    fast: list[float] = []
    slow: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "batched.csv"), os.path.join(tmp, "rows.csv")
        for _ in range(repeat):  # alternating, so the machine's noise falls on both
            started = time.perf_counter()
            assert await write_csv(rows, a) == n
            fast.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert await write_csv(one_at_a_time(rows), b) == n
            slow.append(time.perf_counter() - started)
        with open(a, "rb") as fa, open(b, "rb") as fb:
            identical = fa.read() == fb.read()
        size = os.path.getsize(a) / 2**20
    return CsvBuild(n, statistics.median(fast), statistics.median(slow), size, identical, peak_rss_mb())


def render(c: CsvBuild) -> str:
    return (f"CSV of {c.n:,} rows ({c.mb:.1f} MB): {c.batched_s:.2f} s a batch at a time (write_csv from "
            f"ValueRows.batches()), {c.rows_s:.2f} s one row at a time through csv.writer "
            f"({c.rows_s / c.batched_s:.1f}× slower); bytes identical: {c.identical}; peak RSS of this process "
            f"{c.peak_rss_mb:.0f} MB (the synthetic batches included)")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.csv", description=__doc__.split("\n\n")[0])
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}", flush=True)
    print(render(asyncio.run(measure(args.values, args.batch, args.repeat))))


if __name__ == "__main__":
    main()
