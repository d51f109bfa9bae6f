"""Replies to the commands that are not a run: a run's status, the channel's runs and schedules, the help,
and errors. Pure, like bot.render, whose pieces of a run's state they reuse."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block

from bot.mrkdwn import channel, code, escape, link, mention, slack_date, user_text
from bot.render.blocks import Message, actions, button, finish, packed_message, section
from bot.render.run import failure_groups, open_ui_buttons, progress_lines, stats_line, timing_line
from bot.runs.lookup import RunListing
from workflows.model import FanoutResult, Progress

STATUS_EMOJI = {"running": "🔄", "completed": "✅", "cancelled": "⏹", "canceled": "⏹", "failed": "❌",
                "terminated": "🛑", "timedout": "⌛", "timed out": "⌛", "waiting for approval": "⏳", "rejected": "🚫",
                "expired": "⌛", "withdrawn": "↩️"}


def error_message(problem: str, usage: str) -> Message:
    """An ephemeral error; ``problem`` and ``usage`` are mrkdwn we wrote (already escaped)."""
    blocks: list[Block] = [section(f":warning: {problem}")]
    if usage.strip():
        blocks.append(section(usage))
    return finish(problem or "Something went wrong", blocks)


def help_message(help_text: str) -> Message:
    lines = help_text.strip().splitlines() or ["(no help)"]
    return packed_message(lines[0], "", lines, len(lines), "_…and {n:,} more lines_",
                          extra=[actions(button("New run", "fanout_new_run", value="new", style="primary"))])


def status_message(run_id: str, status: str, progress: Progress | None, result: FanoutResult | None,
                   ui_url: str) -> Message:
    emoji = STATUS_EMOJI.get(status.strip().lower(), "•")
    lines = [f"{emoji} Run {code(run_id, 100)}: *{user_text(status, 40)}*"]
    fallback = f"Run {run_id}: {status}"
    if result is not None:
        lines += [stats_line(result), timing_line(result)]
        groups = failure_groups(result)
        if groups:
            lines.append("Failures: " + ", ".join(f"{escape(kind)} ×{count:,}" for kind, count, _ in groups[:10]))
        fallback += f", {result.success_count:,}/{result.total_children:,} succeeded"
    elif progress is not None:
        lines += progress_lines(progress)
        fallback += f", {progress.finished:,}/{progress.total:,} done"
    blocks: list[Block] = [section("\n".join(lines))]
    if ui_url:
        blocks.append(actions(*open_ui_buttons(ui_url)))
    return finish(escape(fallback), blocks)


def list_message(channel_id: str, runs: list[RunListing]) -> Message:
    """``list``: a channel's runs, or ("" for the channel) every run /fanout started, for the terminal."""
    where = channel(channel_id) if channel_id else "this namespace"
    if not runs:
        return finish("No /fanout runs here yet.", [section(f"No `/fanout` runs in {where} yet.")])
    lines = (
        f"{STATUS_EMOJI.get(r.status.strip().lower(), '•')} {code(r.workflow_id, 60)} · {user_text(r.status, 30)} · "
        f"{_started_by(r) if not channel_id else mention(r.started_by)} · {code(r.text, 60)} · "
        f"{slack_date(r.start_time_iso)} · {link(r.ui_url, 'UI')}"
        for r in runs
    )
    fallback = f"{len(runs):,} /fanout run{'s' if len(runs) != 1 else ''} here"
    return packed_message(fallback, f"*Recent `/fanout` runs in {where}* · {len(runs):,}", lines, len(runs),
                          "_…and {n:,} more_")


def _started_by(run: RunListing) -> str:
    """Who started a run and where, for the terminal's list: a Slack user in a channel, a terminal user, or, for
    a run /fanout did not start, nobody known."""
    if not run.started_by:
        return "not /fanout's"
    if run.started_by.startswith("cli:"):
        return f"{user_text(run.started_by, 40)} in a terminal"
    return f"{mention(run.started_by)} in {channel(run.channel_id)}"


def confirmation_message(text: str) -> Message:
    """A private confirmation (``text``: mrkdwn we wrote, user text escaped)."""
    return finish(text, [section(text)])


def schedules_message(channel_id: str, listings: Sequence[Any]) -> Message:
    """``/fanout schedules``: each of the channel's schedules, its next firing and its last result."""
    where = channel(channel_id)
    if not listings:
        return finish("No schedules in this channel.", [section(
            f"No `/fanout` schedules in {where}. Make one: `/fanout schedule every 1h 1-10`.")])
    lines = []
    for s in listings:
        state = "⏸ paused" if s.paused else (f"next {slack_date(s.next_fire.isoformat())}" if s.next_fire else "—")
        last = (f"last {code(s.last_run, 60)} {STATUS_EMOJI.get(s.last_status, '')} {user_text(s.last_status, 20)}"
                if s.last_run else "not fired yet")
        lines.append(f"🗓 {code(s.schedule_id, 40)} · {user_text(s.when, 60)} · {code('/fanout ' + s.text, 60)} · "
                     f"{mention(s.owner)} · {state} · {last}")
    fallback = f"{len(listings):,} schedule{'s' if len(listings) != 1 else ''} in this channel"
    return packed_message(fallback, f"*Schedules in {where}* · {len(listings):,}", lines, len(listings),
                          "_…and {n:,} more_")
