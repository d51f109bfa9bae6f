"""What the bot posts into a run's thread after the summary, in order."""

from __future__ import annotations

from bot.lifecycle import Attachment


def default_attachments() -> list[Attachment]:
    attachments: list[Attachment] = []
    return attachments
