"""What the bot posts into a run's thread after the summary, in order."""

from __future__ import annotations

from bot.csv_export import upload_csv
from bot.lifecycle import Attachment
from bot.timeline_upload import upload_timeline


def default_attachments() -> list[Attachment]:
    attachments: list[Attachment] = []
    attachments.append(upload_timeline)  # the execution timeline PNG (issue 7)
    attachments.append(upload_csv)  # every value as CSV, for runs too big to list (issue 4)
    return attachments
