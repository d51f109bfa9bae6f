"""A run's every value as a CSV file in its thread (an Attachment, see bot.lifecycle).

Posted for runs too big to list in the summary: more than CSV_MIN_VALUES values, or whenever the
result's lists are samples. Rows are streamed from bot.results.value_rows into a temporary file
(value order, one batch at a time: a million rows never sit in memory as objects), then sent
with ``files_upload_v2`` (which reads the file as bytes: ~35 MB for 1,000,000 values).
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import AsyncIterator
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import WorkflowHandle

from bot.results import ValueRow, value_rows
from bot.runs import RunInfo
from workflows.model import FanoutResult

log = logging.getLogger("fanout.csv")

CSV_MIN_VALUES = 50  # up to this many values the summary lists them all: no file
CSV_COLUMNS = ("value", "status", "result", "error", "attempts")


def wants_csv(result: FanoutResult) -> bool:
    return not result.results_complete or result.total_children > CSV_MIN_VALUES


async def write_csv(rows: AsyncIterator[ValueRow], path: str) -> int:
    """Writes the header and every row to ``path``; returns the number of rows."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        async for row in rows:
            writer.writerow(row)  # None (no result) is written as an empty field
            count += 1
    return count


def csv_filename(run: RunInfo) -> str:
    return f"{run.workflow_id}.csv"


async def upload_csv(slack: AsyncWebClient, handle: WorkflowHandle[Any, Any], run: RunInfo,
                     result: FanoutResult) -> None:
    if not wants_csv(result):
        return
    fd, path = tempfile.mkstemp(prefix="fanout-", suffix=".csv")
    os.close(fd)
    try:
        count = await write_csv(value_rows(handle._client, run.workflow_id, result), path)
        size = os.path.getsize(path)
        log.info("run %s: CSV of %d rows (%d bytes)", run.workflow_id, count, size)
        await slack.files_upload_v2(
            file=path,
            filename=csv_filename(run),
            title=f"{run.workflow_id}: every value ({count:,} rows)",
            channel=run.channel_id,
            thread_ts=run.thread_ts or None,
            initial_comment=f"Every value of `{run.workflow_id}` as CSV: {count:,} rows "
                            f"({', '.join(CSV_COLUMNS)}).",
        )
    finally:
        os.unlink(path)
