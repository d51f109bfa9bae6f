"""A run's every value as a CSV file, uploaded into its thread by bot.reporting.activities.upload_csv.

Posted for runs too big to list in the summary: more than CSV_MIN_VALUES values, or whenever the
result's lists are samples. Rows are streamed into a temporary file in value order, one batch at a
time, then streamed to Slack from disk (bot.slack.upload: ~39 MB for 1,000,000 values, never in memory at once).

Written from bot.runs.results.ValueRows.batches() when the rows come from there: each batch's lines in one
comprehension over its (value, result) pairs, the lab's int results written as they are, each failure kind's
message template quoted once (never per value), so 1,000,000 rows take ~1 s, not ~4 s one row at a time
through ``csv.writer``. The bytes are exactly csv.writer's (QUOTE_MINIMAL, ``\\r\\n``): a team's JSON result
is JSON, quoted when it must be, like any error message (tests/test_scale.py compares both writers). Any
other async iterable of ValueRow is written one row at a time through ``csv.writer``.
"""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterable, Callable
from typing import Any

from temporalio.exceptions import CancelledError

from bot.runs.info import RunInfo
from bot.runs.results import ValueRow, ValueRows, per_value_rows
from workflows.model import BatchOutput, FanoutResult

CSV_MIN_VALUES = 50  # up to this many values the summary lists them all: no file
CSV_COLUMNS = ("value", "status", "result", "error", "attempts")
PROGRESS_EVERY = 10_000
HEADER = ",".join(CSV_COLUMNS) + "\r\n"
_SPECIAL = frozenset(',"\r\n')  # what makes csv.writer quote a field (the excel dialect, QUOTE_MINIMAL)


def wants_csv(result: FanoutResult) -> bool:
    return not result.results_complete or result.total_children > CSV_MIN_VALUES


async def write_csv(rows: AsyncIterable[ValueRow], path: str,
                    on_progress: Callable[[int], None] | None = None) -> int:
    """Writes the header and every row to ``path``; returns the number of rows. ``on_progress`` is told
    the count every PROGRESS_EVERY rows (the upload activity heartbeats with it)."""
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as out:
        out.write(HEADER)
        if isinstance(rows, ValueRows):
            async for values, outcome in rows.batches():
                out.write(batch_text(values, outcome))
                before, count = count, count + len(values)
                if on_progress is not None:
                    for mark in range((before // PROGRESS_EVERY + 1) * PROGRESS_EVERY, count + 1, PROGRESS_EVERY):
                        on_progress(mark)
            return count
        writer = csv.writer(out)
        async for row in rows:
            if row.result is not None and type(row.result) is not int:  # a team's JSON result, as JSON
                row = row._replace(result=json_text(row.result))
            writer.writerow(row)  # None (no result) is written as an empty field
            count += 1
            if on_progress is not None and count % PROGRESS_EVERY == 0:
                on_progress(count)
    return count


def csv_filename(run: RunInfo) -> str:
    return f"{run.workflow_id}.csv"


# -- a batch at a time ----------------------------------------------------------------------------

def field(text: str) -> str:
    """One field as csv.writer writes it: quoted (its quotes doubled) when it holds a comma, a quote or a
    line break."""
    if _SPECIAL.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def json_text(result: Any) -> str:
    return json.dumps(result, separators=(",", ":"), ensure_ascii=False)


def result_field(result: Any) -> str:
    """A result's field: an int as it is, None empty, anything else (a team's JSON, true/false too) as JSON."""
    if result is None:
        return ""
    if type(result) is int:
        return str(result)  # what csv.writer writes for an int
    return field(json_text(result))


def row_line(row: ValueRow) -> str:
    value, status, result, error, attempts = row
    return f"{value},{status},{result_field(result)},{field(error)},{attempts}\r\n"


def batch_text(values: list[int], outcome: BatchOutput | BaseException | FanoutResult | None) -> str:
    """The CSV lines of one batch of ValueRows.batches(): exactly csv.writer's for the same rows."""
    if isinstance(outcome, FanoutResult):  # a per-value run (up to 1,000 values): row by row
        return "".join(map(row_line, per_value_rows(values, outcome)))
    if outcome is None or isinstance(outcome, CancelledError):  # never ran, or cancelled as a whole
        return "".join([f"{v},cancelled,,,0\r\n" for v in values])
    if isinstance(outcome, BaseException):  # failed as a whole
        error = field(str(outcome))
        return "".join([f"{v},failed,,{error},1\r\n" for v in values])
    results = outcome.results
    if outcome.attempts:
        lines = [f"{v},succeeded,{r},,{a}\r\n" if type(r) is int else None
                 for v, r, a in zip(values, results, outcome.attempts, strict=True)]
    else:
        lines = [f"{v},succeeded,{r},,1\r\n" if type(r) is int else None for v, r in zip(values, results, strict=True)]
    attempts = outcome.attempts
    for offset in outcome.cancelled:  # cancelled while awaiting a retry
        if results[offset] is None:
            lines[offset] = f"{values[offset]},cancelled,,,{attempts[offset] if attempts else 1}\r\n"
    # Failures: each kind's template quoted once; the value (digits) goes where "{value}" stands.
    templates = [field(outcome.templates.get(kind, kind)) for kind in outcome.kinds]
    messages = ({f[0]: m for f, m in zip(outcome.failures, outcome.messages, strict=True)}
                if outcome.messages else {})
    for offset, kind_index, tries in outcome.failures:
        if results[offset] is None:
            value = values[offset]
            message = messages.get(offset)
            error = field(message) if message else templates[kind_index].replace("{value}", str(value))
            lines[offset] = f"{value},failed,,{error},{tries}\r\n"
    if None in lines:  # a team's JSON results, or values with no result and no failure
        for offset, line in enumerate(lines):
            if line is None:
                result, tries = results[offset], attempts[offset] if attempts else 1
                lines[offset] = (f"{values[offset]},succeeded,{result_field(result)},,{tries}\r\n"
                                 if result is not None else f"{values[offset]},failed,,no result,{tries}\r\n")
    return "".join(lines)  # type: ignore[arg-type]
