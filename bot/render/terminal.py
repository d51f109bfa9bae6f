"""Slack messages and modals as plain terminal text (the CLI, and make dev's console): Block Kit blocks -> lines.
Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.mrkdwn import mrkdwn_to_text


def blocks_to_text(blocks: list[dict[str, Any]], *, plain: bool = False, links_only: bool = False) -> list[str]:
    """One entry per block (sections, headers, fields, context, buttons); dividers become a rule. With
    ``links_only`` (a terminal, where a button does nothing) only link buttons are kept, as ``label: url``."""
    lines: list[str] = []
    for block in blocks or []:
        kind = block.get("type")
        if kind in ("section", "header") and block.get("text"):
            lines.append(block["text"].get("text", ""))
        for field in block.get("fields", []) or []:
            lines.append(field.get("text", ""))
        if kind == "context":
            lines.append("  ".join(e.get("text", "") for e in block.get("elements", [])))
        if kind == "actions" and links_only:
            lines += [f"{e.get('text', {}).get('text', '')}: {e['url']}" for e in block.get("elements", [])
                      if e.get("url")]
        elif kind == "actions":
            lines.append("  ".join(f"[{e.get('text', {}).get('text', '')}]" for e in block.get("elements", [])))
        if kind == "divider":
            lines.append("─" * 40)
    return [mrkdwn_to_text(line, plain=plain) for line in lines if line]


def view_text(view: dict[str, Any],
              button_hints: Callable[[list[dict[str, Any]]], list[str]] | None = None) -> list[str]:
    """A modal as terminal lines (the CLI's ``details``, make dev's console): its title, then its blocks as
    ``blocks_to_text`` gives them, links kept and code fences gone. ``button_hints`` says, under each block, what a
    terminal types in place of its buttons (a button does nothing here)."""
    lines = [f"── {(view.get('title') or {}).get('text', '')} ──"]
    for block in view.get("blocks") or []:
        lines += [line.replace("```", "") for line in blocks_to_text([block], plain=True, links_only=True)]
        buttons = [block["accessory"]] if block.get("accessory") else block.get("elements", []) \
            if block.get("type") == "actions" else []
        if button_hints is not None and (buttons := [b for b in buttons if b.get("type") == "button"]):
            lines += button_hints(buttons)
    return lines
