"""What the bot posts into a run's thread after the summary, in order."""

from __future__ import annotations

from bot.csv_export import csv_filename, upload_csv
from bot.lifecycle import ThreadFile
from bot.timeline_upload import timeline_filename, upload_timeline


def default_attachments() -> list[ThreadFile]:
    return [
        ThreadFile(timeline_filename, upload_timeline),  # the execution timeline PNG (issue 7)
        ThreadFile(csv_filename, upload_csv),  # every value as CSV, for runs too big to list (issue 4)
    ]
