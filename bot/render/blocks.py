"""Block Kit building blocks for bot.render: blocks, buttons, and packing lines under Slack's limits.

Everything here is pure. Limits enforced (Slack's, plus the message-wide text budget we keep):
<= 50 blocks, <= 3,000 characters per section text, <= 12,000 characters of text across all blocks,
and <= 3,000 characters of plain fallback text.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.mrkdwn import clip

MAX_BLOCKS = 50
SECTION_MAX = 3000
TOTAL_TEXT_MAX = 12000
TEXT_MAX = 3000
CONTEXT_MAX = 2000  # conservative per-element cap for context text
LINE_MAX = 400  # one list entry (e.g. a failed child's error) never takes more than this
MORE_RESERVE = 40  # room kept for a trailing "…and 1,000,000 more" line

def section(text: str, accessory: ButtonElement | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=clip(text, SECTION_MAX) or " "), accessory=accessory)


def context(*texts: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=clip(t, CONTEXT_MAX)) for t in texts if t][:10])


def divider() -> DividerBlock:
    return DividerBlock()


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=PlainTextObject(text=clip(text, 75), emoji=True),
        action_id=action_id,
        value=value[:2000] if value is not None else None,
        url=url[:3000] if url else None,
        style=style,
        confirm=confirm,
    )


def confirm_dialog(title: str, text: str, yes: str, no: str) -> ConfirmObject:
    return ConfirmObject(
        title=PlainTextObject(text=clip(title, 100)),
        text=MarkdownTextObject(text=clip(text, 300)),
        confirm=PlainTextObject(text=clip(yes, 30)),
        deny=PlainTextObject(text=clip(no, 30)),
        style="danger",
    )


def actions(*buttons: ButtonElement) -> ActionsBlock:
    return ActionsBlock(elements=list(buttons))


def text_length(blocks: Iterable[dict[str, Any]]) -> int:
    """Characters of text in every text object (mrkdwn and plain_text) anywhere in ``blocks``."""

    def walk(node: object) -> int:
        if isinstance(node, dict):
            own = len(node["text"]) if node.get("type") in ("mrkdwn", "plain_text") else 0
            return own + sum(walk(v) for k, v in node.items() if not (own and k == "text"))
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0

    return walk(list(blocks))


def to_dicts(blocks: Iterable[Block]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


@dataclass
class Budget:
    """What is left of a message's allowances; list packers spend from it."""

    chars: int
    blocks: int

    def spend(self, texts: list[str]) -> None:
        self.chars -= sum(len(t) for t in texts)
        self.blocks -= len(texts)


def pack_lines(
    lines: Iterable[str],
    total: int,
    budget: Budget,
    *,
    heading: str = "",
    more: str = "_…and {n:,} more_",
    line_max: int = LINE_MAX,
) -> tuple[list[str], int]:
    """Pack ``lines`` into section texts (each <= SECTION_MAX) while ``budget`` lasts.

    ``total`` is the true number of entries ``lines`` stands for (it may be a sample); when fewer
    are shown the last section ends with ``more`` formatted with the remainder. Returns the section
    texts (already spent from ``budget``; empty when not even the heading fits) and how many lines
    were shown.
    """
    chars = budget.chars - MORE_RESERVE
    if budget.blocks < 1 or chars < len(heading):
        return [], 0
    texts: list[str] = []
    current, used, shown = heading, len(heading), 0
    for raw in lines:
        line = clip(raw, min(line_max, SECTION_MAX - MORE_RESERVE))
        joined = bool(current) and len(current) + 1 + len(line) <= SECTION_MAX - MORE_RESERVE
        add = len(line) + (1 if joined else 0)
        if used + add > chars or (current and not joined and len(texts) + 2 > budget.blocks):
            break
        if joined or not current:
            current = f"{current}\n{line}" if current else line
        else:
            texts.append(current)
            current = line
        used += add
        shown += 1
    remainder = total - shown
    if remainder > 0:
        tail = more.format(n=remainder)
        current = f"{current}\n{tail}" if current else tail
    if current:
        texts.append(current)
    budget.spend(texts)
    return texts, shown


@dataclass(frozen=True)
class Message:
    text: str  # plain fallback for notifications (<= 3,000 chars), escaped
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None = None  # {"event_type": ..., "event_payload": {...}}

    def as_ack(self) -> dict[str, Any]:
        """Keyword arguments for Bolt's ``ack()``: an ephemeral reply to a slash command."""
        return {"text": self.text, "blocks": self.blocks, "response_type": "ephemeral"}

    def as_ephemeral(self) -> dict[str, Any]:
        """Keyword arguments for Bolt's ``respond()``: ephemeral, never replacing the message clicked."""
        return {"text": self.text, "blocks": self.blocks, "response_type": "ephemeral", "replace_original": False}


def finish(text: str, blocks: list[Block], metadata: dict[str, Any] | None = None) -> Message:
    dicts = to_dicts(blocks)
    # Safety net: the builders budget for the limits; if one ever doesn't, drop list blocks from the end.
    while len(dicts) > 1 and (len(dicts) > MAX_BLOCKS or text_length(dicts) > TOTAL_TEXT_MAX):
        del dicts[-2 if dicts[-1]["type"] == "actions" else -1]
    return Message(text=clip(text, TEXT_MAX), blocks=dicts, metadata=metadata)


def packed_message(fallback: str, heading: str, lines: Iterable[str], total: int, more: str,
                    extra: list[Block] | None = None) -> Message:
    extra = extra or []
    fixed = to_dicts(extra)
    budget = Budget(TOTAL_TEXT_MAX - text_length(fixed), MAX_BLOCKS - len(fixed))
    texts, _ = pack_lines(lines, total, budget, heading=heading, more=more, line_max=2900)
    return finish(fallback, [section(t) for t in texts] + extra)


def progress_bar(finished: int, total: int, width: int = 20) -> str:
    """``▓▓▓▓▓▓░░░░ 60%``; rounds down so a bar is only full when everything finished."""
    fraction = min(max(finished / total, 0.0), 1.0) if total > 0 else 0.0
    width = max(width, 1)
    filled = int(fraction * width)
    return f"{'▓' * filled}{'░' * (width - filled)} {int(fraction * 100)}%"


def format_duration(seconds: float) -> str:
    """``0.2 s``, ``12.5 s``, ``3 min 04 s``, ``1 h 02 min``."""
    seconds = seconds if math.isfinite(seconds) and seconds > 0 else 0.0
    if round(seconds, 1) < 60:
        return f"{seconds:.1f} s"
    whole = int(round(seconds))
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = whole // 60
    return f"{minutes // 60:,} h {minutes % 60:02d} min"


def format_percent(rate: float) -> str:
    """0.6 -> ``60%``, 2/3 -> ``66.7%``, 1.0 -> ``100%``; never rounds a partial rate to 0% or 100%."""
    pct = rate * 100 if math.isfinite(rate) else 0.0
    if 0 < pct < 0.05:
        return "<0.1%"
    if 99.95 <= pct < 100:
        return ">99.9%"
    return f"{pct:.1f}".removesuffix(".0") + "%"
