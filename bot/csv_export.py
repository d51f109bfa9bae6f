"""A run's every value as a CSV file, uploaded into its thread by bot.report.upload_csv.

Posted for runs too big to list in the summary: more than CSV_MIN_VALUES values, or whenever the
result's lists are samples. Rows are streamed from bot.results.value_rows into a temporary file
(value order, one batch at a time: a million rows never sit in memory as objects), then sent
with ``files_upload_v2`` (which reads the file as bytes: ~35 MB for 1,000,000 values).
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, Callable

from bot.results import ValueRow
from bot.runs import RunInfo
from workflows.model import FanoutResult

CSV_MIN_VALUES = 50  # up to this many values the summary lists them all: no file
CSV_COLUMNS = ("value", "status", "result", "error", "attempts")
PROGRESS_EVERY = 10_000


def wants_csv(result: FanoutResult) -> bool:
    return not result.results_complete or result.total_children > CSV_MIN_VALUES


async def write_csv(rows: AsyncIterable[ValueRow], path: str,
                    on_progress: Callable[[int], None] | None = None) -> int:
    """Writes the header and every row to ``path``; returns the number of rows. ``on_progress`` is told
    the count every PROGRESS_EVERY rows (the upload activity heartbeats with it)."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        async for row in rows:
            if not isinstance(row.result, int | None):  # a team's JSON result, as JSON
                row = row._replace(result=json.dumps(row.result, separators=(",", ":"), ensure_ascii=False))
            writer.writerow(row)  # None (no result) is written as an empty field
            count += 1
            if on_progress is not None and count % PROGRESS_EVERY == 0:
                on_progress(count)
    return count


def csv_filename(run: RunInfo) -> str:
    return f"{run.workflow_id}.csv"
