"""A run's state -> its Slack messages: the run message in the channel and the summary in its thread (replies
to the other commands are in bot.render.replies). Pure: no I/O, no clock (times come in as arguments).

Blocks are built with slack_sdk's block models and serialised with ``.to_dict()`` (which also
validates them). Every message stays within the limits in ``bot.render.blocks``; long lists are cut
line by line and end with "…and N more", N taken from the true counts, not the (sampled) lists.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import islice
from statistics import median
from typing import Any

from slack_sdk.models.blocks import Block

from bot.mrkdwn import code, escape, link, mention, slack_date, user_text
from bot.render.blocks import (
    MAX_BLOCKS,
    TOTAL_TEXT_MAX,
    Budget,
    Message,
    actions,
    button,
    confirm_dialog,
    context,
    divider,
    finish,
    format_duration,
    format_percent,
    pack_lines,
    progress_bar,
    section,
    text_length,
    to_dicts,
)
from bot.runs.info import RunInfo
from workflows.model import ChildSpan, FailedChild, FanoutResult, Progress

__all__ = [
    "Message", "escape", "progress_bar", "format_duration", "format_percent", "failure_kind", "run_message",
    "summary_message", "failure_groups", "open_ui_buttons", "progress_lines", "stats_line", "timing_line",
    "pictured", "TIMELINE_MIN_CHILDREN",
]

LIST_SAMPLE = 1000  # never format more entries than this from any list
RESULT_SHOWN = 120  # characters of a team's JSON result shown per value (the CSV has it whole)
# A run that ended in Temporal without a result (its status there): what the thread and the message say.
ENDED = {"terminated": "terminated", "timed_out": "timed out", "failed": "failed", "canceled": "cancelled in Temporal",
         "not_started": "not started (its id is taken by another workflow)"}
NEVER_RAN = {"rejected", "expired", "withdrawn"}  # runs that waited for an approval and never started
# A run with fewer children gets no timeline picture in its thread: its summary lists every child with its
# result, and its Details modal shows the timeline as text. A picture costs ~135 ms of the bot's CPU and a call
# of each of two Tier 4 files methods; a workshop's sixty 8-value runs would be sixty uploads for pictures few open.
TIMELINE_MIN_CHILDREN = 10
DETAILS_ACTION = "fanout_details"  # the Details button on the run message and the summary (value: the run id)


def pictured(result: FanoutResult) -> bool:
    """Whether the run's thread gets its timeline as a picture (bot.reporting: the upload)."""
    return bool(result.spans) and result.total_children >= TIMELINE_MIN_CHILDREN



def failure_kind(f: FailedChild) -> str:
    """The error kind a failed child counts under in ``FanoutResult.failure_groups``."""
    if f.kind:
        return f.kind
    if f.error.startswith("Simulated failure"):
        return "SimulatedFailure"
    if f.error.startswith("Random failure"):
        return "RandomFailure"
    return f.type or "Error"


def _attempts(n: int) -> str:
    return f" ({n} attempts)" if n > 1 else ""


def _counts(succeeded: int, failed: int, cancelled: int = 0) -> str:
    parts = [f"{succeeded:,} succeeded", f"{failed:,} failed"] + ([f"{cancelled:,} cancelled"] if cancelled else [])
    return " · ".join(parts)


def _shape(run: RunInfo) -> str:
    parts = [f"*{run.value_count:,}* value{'s' if run.value_count != 1 else ''}",
             f"*{run.child_workflow_count:,}* child workflow{'s' if run.child_workflow_count != 1 else ''}"]
    if run.batch_size > 1:
        parts.append(f"batches of {run.batch_size:,}")
    if run.sequential:
        parts.append("sequential")
    if run.max_attempts > 1:
        parts.append(f"up to {run.max_attempts} attempts each")
    return " · ".join(parts)


def progress_lines(progress: Progress) -> list[str]:
    lines = [f"`{progress_bar(progress.finished, progress.total)}`",
             f"*{progress.finished:,}* of *{progress.total:,}* done · {progress.failed:,} failed"
             f" · {progress.running:,} running · {format_duration(progress.elapsed_s)} elapsed"]
    if progress.cancelled:
        lines[1] += f" · {progress.cancelled:,} cancelled"
    if progress.cancel_requested_by:
        lines.append(f"⏹ cancelling (requested by {mention(progress.cancel_requested_by)})")
    return lines


def details_button(run_id: str) -> Any:
    """Opens the run's Details modal (bot.render.details): for teammates without the Temporal UI."""
    return button("Details", DETAILS_ACTION, value=run_id)


def open_ui_buttons(url: str) -> list[Any]:
    return [button("Open in Temporal UI", "fanout_open_ui", url=url)] if url else []


def _never_ran(result: FanoutResult) -> str:
    if result.status == "rejected":
        return f"🚫 Rejected by {mention(result.cancelled_by)} — nothing ran"
    if result.status == "withdrawn":
        return f"↩️ Withdrawn by {mention(result.cancelled_by)} before anyone approved it — nothing ran"
    return "⌛ Expired: nobody approved it in time — nothing ran"


def _waiting(run: RunInfo, until: str, approvers: Sequence[str]) -> str:
    who = (", ".join(mention(a) for a in approvers[:10]) if approvers
           else f"anyone in this channel but {mention(run.user_id)}")
    return f"⏳ *Waiting for approval* by {who} · expires {slack_date(until)}"


def origin_lines(run: RunInfo) -> str:
    """Where a run came from beside its starter, a line each: the run whose failures it retries, its schedule."""
    lines = ""
    if run.retry_of:
        lines += f"\n↩️ retries the failed values of {code(run.retry_of, 80)}"
    if run.schedule_id:
        lines += f"\n🗓 fired by schedule {code(run.schedule_id, 80)}"
    return lines


def run_message(run: RunInfo, progress: Progress | None, *, final: FanoutResult | None = None,
                waiting_until: str = "", approvers: Sequence[str] = ()) -> Message:
    """The run's message in the channel; updated in place while it runs, and once more at the end. While it
    waits for an approval (``waiting_until``) it offers Approve and Reject."""
    who = mention(run.user_id) if run.user_id else "A workflow"
    head = f"{who} ran {code('/fanout ' + run.text if run.text.strip() else '/fanout')}\n{_shape(run)}"
    head += origin_lines(run)
    if run.approved_by:
        head += f"\n✅ approved by {mention(run.approved_by)}"
    buttons = []
    if final is not None and final.status in NEVER_RAN:
        status, fallback = _never_ran(final), f"/fanout run {run.workflow_id}: {final.status}"
    elif waiting_until:
        status = _waiting(run, waiting_until, approvers)
        fallback = f"/fanout run {run.workflow_id} is waiting for approval"
        buttons += [button("Approve", "fanout_approve", value=run.workflow_id, style="primary"),
                    button("Reject", "fanout_reject", value=run.workflow_id, style="danger")]
    elif final is not None:
        done = f"{final.success_count:,} succeeded · {final.failure_count:,} failed"
        if final.status == "cancelled":
            by = f" by {mention(final.cancelled_by)}" if final.cancelled_by else ""
            state = f"⏹ Cancelled{by} — {done} · {final.cancelled_count:,} cancelled — see thread"
        elif final.status in ENDED:
            state = f"🛑 Run {ENDED[final.status]} in Temporal, without a result — see thread"
        else:
            state = f"Finished: {done} — see thread"
        finished = final.success_count + final.failure_count
        status = f"`{progress_bar(finished, final.total_children)}`\n{state} ({format_duration(final.wall_s)})"
        fallback = f"/fanout run {run.workflow_id}: {done}"
    else:
        if progress is None:
            status = f"`{progress_bar(0, run.value_count)}`\n*0* of *{run.value_count:,}* done · starting…"
        else:
            status = "\n".join(progress_lines(progress))
        fallback = f"/fanout run {run.workflow_id} started: {run.value_count:,} values"
    if final is None and not (progress and progress.cancel_requested_by):
        confirm = confirm_dialog("Cancel this run?", f"Stop run `{run.workflow_id}`? Finished results are kept.",
                                 "Cancel run", "Keep running")
        buttons.append(button("Cancel", "fanout_cancel", value=run.workflow_id, style="danger", confirm=confirm))
    if not waiting_until and not (final is not None and final.status in NEVER_RAN):
        buttons.append(details_button(run.workflow_id))
    buttons += open_ui_buttons(run.ui_url)
    blocks: list[Block] = [section(head), section(status),
                           context(f"Run `{escape(run.workflow_id)}` · {link(run.ui_url, 'Temporal Web UI')}")]
    if buttons:
        blocks.append(actions(*buttons))
    payload = {"workflow_id": run.workflow_id, "total_children": run.value_count, "user_id": run.user_id,
               "child_workflow_count": run.child_workflow_count, "batch_size": run.batch_size,
               "sequential": run.sequential}
    return finish(escape(fallback), blocks, {"event_type": "fanout_started", "event_payload": payload})


def _title(result: FanoutResult) -> str:
    total = f"{result.total_children:,}"
    if result.status in NEVER_RAN:
        return f"*{_never_ran(result)}*"
    if result.status == "cancelled":
        by = f" by {mention(result.cancelled_by)}" if result.cancelled_by else ""
        return f"⏹ *Cancelled{by}* — partial results follow"
    if result.status in ENDED:
        return (f"🛑 *Run {ENDED[result.status]} in Temporal* — it ended without a result; the counts are from "
                "its last progress (the Temporal UI shows why)")
    if result.failure_count == 0:
        return f"✅ *All {total} succeeded*"
    if result.success_count == 0:
        return f"❌ *All {total} failed*"
    return "⚠️ *Partial success*"


def result_shown(result: Any) -> str:
    """A child's result in a message: the lab's ints as they are; a team's JSON compact, escaped, at most
    RESULT_SHOWN characters."""
    if isinstance(result, int):
        return str(result)
    text = json.dumps(result, separators=(",", ":"), ensure_ascii=False)
    return escape(text if len(text) <= RESULT_SHOWN else text[: RESULT_SHOWN - 1] + "…")


def stats_line(result: FanoutResult) -> str:
    counts = _counts(result.success_count, result.failure_count, result.cancelled_count)
    return f"{counts} of {result.total_children:,} · success rate *{escape(format_percent(result.success_rate))}*"


def timing_line(result: FanoutResult) -> str:
    parts = [f"Wall time {format_duration(result.wall_s)}"]
    if result.sequential:
        parts.append("sequential")
    elif result.wall_s > 0 and result.child_s_sum > 0:
        speedup = result.child_s_sum / result.wall_s
        shown = f"{speedup:,.1f}" if speedup < 100 else f"{speedup:,.0f}"
        parts.append(f"{shown}× faster than one after another ({format_duration(result.child_s_sum)} of child time)")
    if result.child_workflow_count:
        parts.append(f"{result.child_workflow_count:,} child workflows")
    if result.batch_size > 1:
        parts.append(f"batches of {result.batch_size:,}")
    if result.spans:
        durations = [(s.end_ms - s.start_ms) / 1000 for s in result.spans]
        slowest = max(range(len(durations)), key=durations.__getitem__)
        parts.append(f"child median {format_duration(median(durations))}, slowest "
                     f"{format_duration(durations[slowest])} ({child_label(result, result.spans[slowest])})")
    return " · ".join(parts)


def child_label(result: FanoutResult, span: ChildSpan) -> str:
    """A child as the rest of the bot names it: a batch by its number; a value by itself (with ``#position`` when the
    run has it more than once, as the timeline labels it), read from the result's complete lists, which hold the
    k-th succeeded (or failed) span's value k-th; ``#position`` where they cannot say (a cancelled child)."""
    if result.batch_size > 1:
        return f"batch {span.index}"
    listed: list[Any] = (result.successful_results if span.status == "succeeded"
                         else result.failed_children if span.status == "failed" else [])
    k = sum(1 for s in result.spans if s.status == span.status and s.index < span.index)
    if not result.results_complete or k >= len(listed):
        return f"#{span.index}"
    value = listed[k].value
    seen = [s.value for s in result.successful_results] + [f.value for f in result.failed_children]
    return f"value {value} #{span.index}" if seen.count(value) > 1 else f"value {value}"


def failure_groups(result: FanoutResult) -> list[tuple[str, int, list[FailedChild]]]:
    listed: dict[str, list[FailedChild]] = {}
    for f in islice(result.failed_children, LIST_SAMPLE):
        listed.setdefault(failure_kind(f), []).append(f)
    counts = dict(result.failure_groups)
    for kind, items in listed.items():
        counts[kind] = max(counts.get(kind, 0), len(items))
    order = sorted(counts, key=lambda k: (-counts[k], k))
    return [(kind, counts[kind], listed.get(kind, [])) for kind in order]


def _pack_failures(result: FanoutResult, budget: Budget) -> list[str]:
    texts: list[str] = []
    groups = failure_groups(result)
    accounted, tails = 0, []
    for i, (kind, count, items) in enumerate(groups):
        lines = (f"{f.value}: {user_text(f.error, 300)}{_attempts(f.attempts)}" for f in items)
        heading = f"*{escape(kind)}* · {count:,}"
        # Keep one block and some characters for the tail lines below.
        packed, _ = pack_lines(lines, count, Budget(budget.chars - 120, budget.blocks - 1), heading=heading)
        if not packed:
            rest, other = sum(c for _, c, _ in groups[i:]), len(groups) - i
            tails.append(f"_…and {rest:,} more in {other} other group{'s' if other > 1 else ''}_")
            accounted += rest
            break
        budget.spend(packed)
        texts += packed
        accounted += count
    if result.failure_count > accounted:  # failures in no group and no sample
        tails.append(f"_…and {result.failure_count - accounted:,} more_")
    if tails:
        texts.append("\n".join(tails))
        budget.spend(texts[-1:])
    return texts


def summary_message(run: RunInfo, result: FanoutResult) -> Message:
    """The one threaded reply with the run's outcome."""
    head: list[Block] = [section(f"{_title(result)}\n{stats_line(result)}"), context(timing_line(result))]
    if run.retry_of:
        head.append(context(f"↩️ Retry of {code(run.retry_of, 80)}"))
    if run.approved_by:
        head.append(context(f"✅ Approved by {mention(run.approved_by)} · {slack_date(run.approved_at)}"))
    if run.schedule_id:
        head.append(context(f"🗓 Fired by schedule {code(run.schedule_id, 80)}"))
    buttons = []
    if result.failure_count > 0 and result.status not in ENDED:  # a retry reads the failures from the result
        buttons.append(button(f"Retry failed ({result.failure_count:,})", "fanout_retry", value=run.workflow_id,
                              style="primary"))
    if run.in_slack and result.status != "not_started":
        buttons += [button("Run again", "fanout_run_again", value=run.workflow_id),
                    button("Edit and run", "fanout_edit_run", value=run.workflow_id)]
    if result.status not in NEVER_RAN and result.status != "not_started":  # it ran: its children have details
        buttons.append(details_button(run.workflow_id))
    tail: list[Block] = [actions(*buttons)] if buttons else []
    fixed = to_dicts(head + tail)
    budget = Budget(TOTAL_TEXT_MAX - text_length(fixed), MAX_BLOCKS - len(fixed) - 2)  # 2 dividers

    success_lines = [f"{s.value} → {result_shown(s.result)}{_attempts(s.attempts)}"
                     for s in islice(result.successful_results, LIST_SAMPLE)]
    failure_need = sum(len(f.error) + 20 for f in islice(result.failed_children, LIST_SAMPLE)) + 200
    success_need = sum(len(line) + 1 for line in success_lines) + 100
    share = min(success_need, max(budget.chars // 2, budget.chars - failure_need))
    success_texts: list[str] = []
    if result.success_count > 0:
        success_budget = Budget(share, min(6, budget.blocks // 2))
        success_texts, _ = pack_lines(success_lines, result.success_count, success_budget,
                                      heading=f"*Succeeded* · {result.success_count:,}")
        budget.spend(success_texts)
    failure_texts = _pack_failures(result, budget) if result.failure_count > 0 else []

    body: list[Block] = list(head)
    for texts in (success_texts, failure_texts):
        if texts:
            body.append(divider())
            body += [section(t) for t in texts]
    fallback = (f"{run.workflow_id}: {result.success_count:,}/{result.total_children:,} succeeded "
                f"({format_percent(result.success_rate)}), {result.failure_count:,} failed")
    if result.cancelled_count:
        fallback += f", {result.cancelled_count:,} cancelled"
    fallback += f", {format_duration(result.wall_s)}"
    payload = {"workflow_id": run.workflow_id, "total_children": result.total_children,
               "success_count": result.success_count, "failure_count": result.failure_count,
               "success_rate": result.success_rate, "cancelled_count": result.cancelled_count,
               "status": result.status}
    return finish(escape(fallback), body + tail, {"event_type": "fanout_summary", "event_payload": payload})
