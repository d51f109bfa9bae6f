"""Slack messages as plain terminal text: Block Kit blocks and mrkdwn -> lines. Pure.

Used by the terminal CLI (bot.cli); the console (devkit.console) has its own copy of the first two
functions and can import them from here instead.
"""

from __future__ import annotations

import html
import re
from typing import Any

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(\S(?:[^_\n]*\S)?)_(?![\w_])")


def mrkdwn_to_text(text: str, *, plain: bool = False) -> str:
    """Links become ``label (url)``, mentions ``@U123``; with ``plain``, *bold* and _italic_ marks go too."""
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _MENTION.sub(lambda m: "@" + (m[2] or m[1]), text)
    text = _CHANNEL.sub(lambda m: "#" + (m[2] or m[1]), text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _DATE.sub(r"\1", text)
    if plain:
        text = _BOLD.sub(r"\1", text)
        text = _ITALIC.sub(r"\1", text)
    return html.unescape(text)


def blocks_to_text(blocks: list[dict[str, Any]], *, plain: bool = False) -> list[str]:
    """One entry per block (sections, headers, fields, context, buttons); dividers become a rule."""
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(block["text"].get("text", ""))
        for field in block.get("fields", []) or []:
            lines.append(field.get("text", ""))
        if kind == "context":
            lines.append("  ".join(e.get("text", "") for e in block.get("elements", [])))
        if kind == "actions":
            lines.append("  ".join(f"[{e.get('text', {}).get('text', '')}]" for e in block.get("elements", [])))
        if kind == "divider":
            lines.append("─" * 40)
    return [mrkdwn_to_text(line, plain=plain) for line in lines if line]
