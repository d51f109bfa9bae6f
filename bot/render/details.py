"""The Details modal (a run's details for teammates without the Temporal UI): what it shows, as data, and as Block
Kit views. Pure: no I/O, no clock (times come in as arguments). bot.details reads the data from Temporal; the
listeners open, push and update the views (bot.listeners), and the terminal prints them (bot.render.terminal).

Three views. The run's (a modal): who started it, where and with what text; its status, wall time, failure rule,
retry policy and counts; its children, or its batches, a page at a time with filters; the text timeline; Refresh.
A child's story and a batch's failures are pushed over it (``views.push``), and never push again, so the stack is
at most two views deep (Slack allows three).

Buttons inside a modal carry no channel: where the modal is — the run, the run's channel, the filter and the page —
travels in its ``private_metadata`` (``Place``), at most PRIVATE_METADATA_MAX characters, and every action
checks the channel again. Every view stays within Slack's limits (at most 100 blocks, 250 KB), whatever the run's
size: a page holds at most PAGE_SIZE children or batches, BATCH_PAGE_SIZE failures of a batch.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot.mrkdwn import channel, clip, code, escape, link, mention, slack_date, user_text
from bot.render.blocks import (
    SECTION_MAX,
    Budget,
    Message,
    actions,
    button,
    context,
    divider,
    format_duration,
    pack_lines,
    section,
)
from bot.render.run import DETAILS_ACTION, open_ui_buttons, origin_lines, result_shown
from bot.runs.info import RunInfo
from workflows.model import RETRY_BACKOFF, RETRY_INITIAL_INTERVAL, FanoutRequest

RUN_CALLBACK = "fanout_details"  # the run's modal
STORY_CALLBACK = "fanout_details_story"  # a child's story, pushed over it
BATCH_CALLBACK = "fanout_details_batch"  # a batch's failures, pushed over it
OPEN_ACTION = DETAILS_ACTION  # the Details button on the run message and the summary (bot.render.run)

# The buttons that move within a view: fanout_details_go:<filter> | :prev | :next | :refresh
MOVE_ACTION = "fanout_details_go"
CHILD_ACTION = "fanout_details_open_child"  # a child's Story button (value: its position)
BATCH_ACTION = "fanout_details_open_batch"  # a batch's Failures button (value: its index)

FILTERS = ("all", "failed", "retried", "running")
FILTER_LABELS = {"all": "All", "failed": "Failed", "retried": "Retried", "running": "Still running"}
PAGE_SIZE = 20  # children or batches a page shows
BATCH_PAGE_SIZE = 50  # failures of a batch a page shows (lines, packed into a few sections)
PRIVATE_METADATA_MAX = 3000  # Slack's limit on a view's private_metadata
LINE_ERROR_MAX = 300  # characters of a child's own error message on its line
TIMELINE_WIDTH = 40  # columns of the text timeline's tracks: a modal is narrow

MARKS = {"succeeded": "✓", "failed": "✗", "cancelled": "⏹", "running": "🔄", "waiting to retry": "⏳",
         "mixed": "◐", "timed out": "⌛", "terminated": "🛑", "not started": "·", "unknown": "?"}


# -- where a modal is: its private_metadata ---------------------------------------------------------------------

@dataclass(frozen=True)
class Cursor:
    """Where a page of a live run's visibility listing starts: a list page (``token``: its page token, base64;
    "" the first) and how many of its matching rows earlier pages showed (``skip``)."""

    token: str = ""
    skip: int = 0

    @staticmethod
    def of(token: bytes | None) -> Cursor:
        """The first match of a list page given by its token (None: the first page)."""
        return Cursor(base64.urlsafe_b64encode(token).decode() if token else "")

    @property
    def page_token(self) -> bytes | None:
        return base64.urlsafe_b64decode(self.token) if self.token else None


FIRST = Cursor()


@dataclass(frozen=True)
class Place:
    """Where a Details view is: the run and its channel, the filter and the page; a pushed view's batch or child.
    Listings read by position page by ``page``; a live run's filtered listings by visibility tokens (``at``,
    ``ahead`` for Next, and ``back``, the pages before, for Previous)."""

    run_id: str
    channel_id: str = ""  # the run's channel (buttons in a modal carry none); "" in a terminal
    show: str = "all"  # all | failed | retried | running
    page: int = 0
    batch: int = -1  # a batch's failures (a pushed view)
    child: int = -1  # a child's story (a pushed view)
    at: Cursor = FIRST
    ahead: Cursor | None = None
    back: tuple[Cursor, ...] = ()

    def showing(self, show: str) -> Place:
        """The first page of a filter."""
        return Place(self.run_id, self.channel_id, show if show in FILTERS else "all", batch=self.batch)

    def turned(self, forward: bool) -> Place:
        """The next or the previous page."""
        if forward:
            if self.ahead is not None:
                return replace(self, page=self.page + 1, at=self.ahead, ahead=None, back=(*self.back, self.at))
            return replace(self, page=self.page + 1)
        if self.back:
            return replace(self, page=max(self.page - 1, 0), at=self.back[-1], ahead=None, back=self.back[:-1])
        if self.at != FIRST:  # the way back was dropped to fit the metadata: back to the first page
            return replace(self, page=0, at=FIRST, ahead=None)
        return replace(self, page=max(self.page - 1, 0))

    def pushed(self, *, batch: int = -1, child: int = -1) -> Place:
        """The place of a view pushed over this one: a batch's failures, or a child's story."""
        return Place(self.run_id, self.channel_id, batch=batch, child=child)

    def encode(self) -> str:
        """Compact JSON, within PRIVATE_METADATA_MAX: the oldest ways back are dropped first."""
        data: dict[str, Any] = {"r": self.run_id, "c": self.channel_id}
        optional = {"s": (self.show, "all"), "p": (self.page, 0), "b": (self.batch, -1), "k": (self.child, -1)}
        data.update({key: value for key, (value, default) in optional.items() if value != default})
        if self.at != FIRST:
            data["a"] = [self.at.token, self.at.skip]
        if self.ahead is not None:
            data["n"] = [self.ahead.token, self.ahead.skip]
        back = list(self.back)
        while True:
            if back:
                data["h"] = [[c.token, c.skip] for c in back]
            text = json.dumps(data, separators=(",", ":"))
            if len(text) <= PRIVATE_METADATA_MAX or not back:
                return text[:PRIVATE_METADATA_MAX]
            back.pop(0)
            data.pop("h")

    @classmethod
    def decode(cls, raw: str | None) -> Place | None:
        """A view's place, or None for metadata that is not one."""
        def cursor(pair: list[Any]) -> Cursor:
            return Cursor(str(pair[0]), int(pair[1]))

        try:
            data = json.loads(raw or "")
            return cls(str(data["r"]), str(data.get("c", "")), str(data.get("s", "all")), int(data.get("p", 0)),
                       int(data.get("b", -1)), int(data.get("k", -1)), cursor(data["a"]) if "a" in data else FIRST,
                       cursor(data["n"]) if "n" in data else None,
                       tuple(cursor(pair) for pair in data.get("h", [])))
        except (ValueError, KeyError, TypeError, IndexError):
            return None


# -- what the views show -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Counts:
    total: int
    succeeded: int
    failed: int
    running: int = 0
    cancelled: int = 0


@dataclass(frozen=True)
class RunHeader:
    """The run as a whole. ``request`` is None for a run that has not started (or never will)."""

    run: RunInfo  # who started it, where, with what text (empty for a run /fanout did not start)
    status: str  # as users read it: "Running", "Completed", "Waiting for approval", …
    live: bool
    by_fanout: bool = True
    started_at: str = ""  # ISO
    wall_s: float | None = None  # so far, while it runs
    request: FanoutRequest | None = None
    child_workflows: int = 0
    batch_size: int = 1
    shards: int = 0
    workflow_retries: bool = True  # a child's attempts are runs of its workflow (False: activities inside it)
    counts: Counts | None = None
    counts_note: str = ""  # where the counts come from, when not the run itself
    note: str = ""  # why there is nothing more to show (not started yet, never ran)


@dataclass(frozen=True)
class ChildLine:
    position: int
    label: str  # its value (and #position for a repeated value)
    status: str  # a key of MARKS
    attempts: int = 0  # 0: none yet
    duration_s: float | None = None
    result: Any = None
    has_result: bool = False
    error_kind: str = ""
    error: str = ""
    note: str = ""
    story: bool = False  # opens to its story (a failed or retried child)


@dataclass(frozen=True)
class BatchLine:
    index: int
    label: str  # its value ranges
    values: int
    status: str  # a key of MARKS
    succeeded: int | None = None  # None: not known here (running, or a result from before counts were kept)
    failed: int | None = None
    attempts: int = 1
    duration_s: float | None = None
    opens: bool = False  # opens to its failures


@dataclass(frozen=True)
class Listing:
    """One page of a run's children or batches under a filter."""

    batches: bool
    lines: list[ChildLine] | list[BatchLine]
    first: int = 0  # index (among the filter's) of the first line: "21–40 of 1,000"
    total: int | None = None  # lines the filter has, when known
    has_next: bool = False
    ahead: Cursor | None = None  # a live listing's next page
    counts: dict[str, int] = field(default_factory=dict)  # filter -> how many it has, when known
    note: str = ""  # mrkdwn we wrote


@dataclass(frozen=True)
class RunPage:
    header: RunHeader
    listing: Listing | None
    timeline: str = ""  # bot.files.timeline.text_timeline, "" for none


@dataclass(frozen=True)
class StoryAttempt:
    number: int
    began_s: float | None  # offsets from the parent's start; None: not known (its history is gone)
    ended_s: float | None = None
    outcome: str = "running"  # succeeded | failed | timed out | cancelled | terminated | running | waiting | gone
    error_kind: str = ""
    message: str = ""
    backoff_s: float | None = None  # the wait before the next attempt
    result: Any = None


@dataclass(frozen=True)
class Story:
    """One child's account, from its event history (bot.details.story)."""

    run_id: str
    workflow_id: str
    label: str  # its value
    activities: bool = False  # attempts are activities inside one run (a team's activity-backed child)
    attempts: list[StoryAttempt] = field(default_factory=list)
    final: str = ""  # how it ended, mrkdwn we wrote
    gone: bool = False  # retention removed its history
    gone_attempts: int = 0  # the first attempts whose runs retention removed


@dataclass(frozen=True)
class BatchFailure:
    value: int
    kind: str
    message: str
    attempts: int


@dataclass(frozen=True)
class BatchFailures:
    """One batch's failures, a page at a time, from its result (bot.details.batch)."""

    run_id: str
    index: int
    label: str  # its value ranges
    values: int
    failures: list[BatchFailure] = field(default_factory=list)  # this page's
    first: int = 0
    failed: int = 0
    succeeded: int = 0
    cancelled: int = 0
    attempts: int = 1  # the most any value took
    outcome: str = ""  # when there is no result to list: why (mrkdwn we wrote)


# -- the views ---------------------------------------------------------------------------------------------------

def _view(callback_id: str, title: str, blocks: Sequence[Block | dict[str, Any]], place: Place) -> dict[str, Any]:
    view = View(type="modal", callback_id=callback_id, title=title, close="Close", blocks=list(blocks),
                private_metadata=place.encode())
    return view.to_dict()


def _callback(place: Place) -> str:
    return BATCH_CALLBACK if place.batch >= 0 else STORY_CALLBACK if place.child >= 0 else RUN_CALLBACK


def _title(place: Place) -> str:
    return "Batch failures" if place.batch >= 0 else "A child's story" if place.child >= 0 else "Run details"


def loading_view(place: Place) -> dict[str, Any]:
    """What views.open and views.push show at once, within Slack's 3 s; views.update replaces it."""
    what = (f"batch {place.batch} of run {code(place.run_id, 100)}" if place.batch >= 0
            else f"a child of run {code(place.run_id, 100)}" if place.child >= 0 else f"run {code(place.run_id, 100)}")
    return _view(_callback(place), _title(place), [section(f"⏳ Reading {what} from Temporal…")], place)


def answer_view(message: Message, place: Place) -> dict[str, Any]:
    """An operation's answer in place of the view (no such run here, Temporal away, …): its blocks as they are."""
    return _view(_callback(place), _title(place), message.blocks, place)


def took(seconds: float) -> str:
    """A duration, in milliseconds under a second (a child takes a few)."""
    return f"{seconds * 1000:,.0f} ms" if seconds < 1 else format_duration(seconds)


def _attempts_text(n: int) -> str:
    return f"{n} attempt{'s' if n != 1 else ''}"


def _seconds(offset: float | None) -> str:
    return "+?" if offset is None else f"+{offset:,.3f} s"


def retry_policy_text(header: RunHeader) -> str:
    request = header.request
    if request is None:
        return "—"
    if request.max_attempts <= 1:
        return "no retries (1 attempt)"
    first = RETRY_INITIAL_INTERVAL.total_seconds()
    waits = ", ".join(f"{first * RETRY_BACKOFF ** k:g} s" for k in range(min(3, request.max_attempts - 1)))
    how = ("retried in rounds inside each batch" if header.batch_size > 1
           else "each a new run of the child" if header.workflow_retries else "activity attempts inside the child")
    return f"up to {request.max_attempts} attempts, {how}; waits {waits}{'…' if request.max_attempts > 4 else ''}"


def failure_rule_text(request: FanoutRequest | None) -> str:
    if request is None:
        return "—"
    if request.plugin is not None:
        return f"its own ({code(request.child_type, 40)} fails on its own)"
    return code(request.fail, 40) + (f" · {code(request.child_type, 40)} children" if request.child_type != "double"
                                     else "")


def _who(header: RunHeader) -> str:
    run = header.run
    if not header.by_fanout:
        return "A `ParentWorkflow` started outside /fanout (the lab's `temporal workflow start`, or a client)"
    if run.user_id.startswith("cli:"):
        return f"{user_text(run.user_id, 60)} ran {code('fanout ' + run.text)} in a terminal"
    who = mention(run.user_id) if run.user_id else "A Workflow Builder step"
    where = f" in {channel(run.channel_id)}" if run.channel_id else ""
    return f"{who} ran {code('/fanout ' + run.text if run.text.strip() else '/fanout')}{where}"


def _shape(header: RunHeader) -> str:
    request = header.request
    if request is None:
        return "—"
    values = header.counts.total if header.counts else header.run.value_count
    text = f"{values:,} value{'s' if values != 1 else ''} in {header.child_workflows:,} child workflow" + (
        "s" if header.child_workflows != 1 else "")
    extras = [f"batches of {header.batch_size:,}"] if header.batch_size > 1 else []
    if header.shards:
        extras.append(f"{header.shards} shards")
    if request.sequential:
        extras.append("one after another")
    if request.delay_max_s > 0:
        lo, hi = request.delay_min_s, request.delay_max_s
        extras.append(f"each sleeps {lo:g} s" if lo == hi else f"each sleeps {lo:g}–{hi:g} s")
    return text + (f" ({', '.join(extras)})" if extras else "")


def _counts(counts: Counts | None, note: str) -> str:
    if counts is None:
        return "—"
    parts = [f"✓ {counts.succeeded:,} succeeded", f"✗ {counts.failed:,} failed"]
    if counts.running:
        parts.append(f"🔄 {counts.running:,} running")
    if counts.cancelled:
        parts.append(f"⏹ {counts.cancelled:,} cancelled")
    return " · ".join(parts) + f" of {counts.total:,}" + (f"\n_{note}_" if note else "")


def _field(title: str, text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(f"*{title}*\n{text}", 2000))


def _header_blocks(header: RunHeader, place: Place) -> list[Block]:
    run = header.run
    who = _who(header) + origin_lines(run)
    if header.started_at:
        who += f"\nstarted {slack_date(header.started_at)}"
    wall = "—" if header.wall_s is None else format_duration(header.wall_s) + (" so far" if header.live else "")
    fields = [_field("Status", user_text(header.status, 60)), _field("Wall time", wall),
              _field("Failure rule", failure_rule_text(header.request)),
              _field("Retry policy", retry_policy_text(header)),
              _field("Values", _shape(header)), _field("Counts", _counts(header.counts, header.counts_note))]
    blocks: list[Block] = [section(who), SectionBlock(fields=fields),
                           context(f"Run `{escape(place.run_id)}` · {link(run.ui_url, 'Temporal Web UI')}")]
    blocks.append(actions(button("Refresh", f"{MOVE_ACTION}:refresh", value="refresh"), *open_ui_buttons(run.ui_url)))
    if header.note:
        blocks.append(section(header.note))
    return blocks


def child_text(line: ChildLine) -> str:
    """One child on a page: its value, status, result or error (type and its own message), attempts, duration."""
    head = f"*{escape(line.label)}* {MARKS.get(line.status, '?')} {line.status}"
    if line.has_result:
        head += f" → {result_shown(line.result)}"
    parts = [head]
    if line.attempts:
        parts.append(_attempts_text(line.attempts))
    if line.duration_s is not None:
        parts.append(took(line.duration_s) + (" so far" if line.status in ("running", "waiting to retry") else ""))
    text = " · ".join(parts)
    if line.error or line.error_kind:
        text += f"\n_{escape(line.error_kind or 'Error')}_: {user_text(line.error, LINE_ERROR_MAX)}"
    if line.note:
        text += f"\n{line.note}"
    return text


def batch_text(line: BatchLine) -> str:
    """One batch on a page: its values, status and counts, attempts and duration."""
    head = f"*Batch {line.index}* · values {escape(line.label)} ({line.values:,})"
    status = f"{MARKS.get(line.status, '?')} {line.status}"
    if line.succeeded is not None and line.failed is not None:
        cancelled = line.values - line.succeeded - line.failed
        status = f"✓ {line.succeeded:,} · ✗ {line.failed:,}" + (f" · ⏹ {cancelled:,}" if cancelled else "")
    parts = [status]
    if line.attempts > 1:
        parts.append(f"up to {_attempts_text(line.attempts)}")
    if line.duration_s is not None:
        parts.append(took(line.duration_s) + (" so far" if line.status == "running" else ""))
    return f"{head}\n{' · '.join(parts)}"


def _listing_blocks(listing: Listing, place: Place) -> list[Block]:
    what = "Batches" if listing.batches else "Children"
    filters = []
    for name in FILTERS:
        count = listing.counts.get(name)
        label = FILTER_LABELS[name] + (f" ({count:,})" if count is not None else "")
        filters.append(button(label, f"{MOVE_ACTION}:{name}", value=name,
                              style="primary" if name == place.show else None))
    shown = len(listing.lines)
    if listing.total is None:
        span = f"page {place.page + 1}" + (f": {shown:,} shown" if shown else ": none here")
    elif shown:
        span = f"{listing.first + 1:,}–{listing.first + shown:,} of {listing.total:,}"
    else:
        span = "none"
    heading = f"*{what}* · {FILTER_LABELS[place.show].lower()} · {span}"
    blocks: list[Block] = [divider(), section(heading), actions(*filters)]
    for line in listing.lines:
        if isinstance(line, BatchLine):
            opens = button("Failures", BATCH_ACTION, value=str(line.index)) if line.opens else None
            blocks.append(section(batch_text(line), opens))
        else:
            story = button("Story", CHILD_ACTION, value=str(line.position)) if line.story else None
            blocks.append(section(child_text(line), story))
    if listing.note:
        blocks.append(context(listing.note))
    turns = []
    if place.page > 0:
        turns.append(button("◀ Previous", f"{MOVE_ACTION}:prev", value="prev"))
    if listing.has_next:
        turns.append(button("Next ▶", f"{MOVE_ACTION}:next", value="next"))
    if turns:
        blocks.append(actions(*turns))
    return blocks


def timeline_block(timeline: str) -> SectionBlock:
    """The text timeline (its first line says what it is), in a code block cut to fit one section."""
    return section(f"```{escape(timeline)[:SECTION_MAX - 6]}```")


def run_view(page: RunPage, place: Place) -> dict[str, Any]:
    """The run's modal: its header, a page of its children or batches, and its timeline."""
    blocks = _header_blocks(page.header, place)
    if page.listing is not None:
        blocks += _listing_blocks(page.listing, place)
        place = replace(place, ahead=page.listing.ahead)  # where Next goes
    if page.timeline:
        blocks += [divider(), timeline_block(page.timeline)]
    return _view(RUN_CALLBACK, "Run details", blocks, place)


def _attempt_lines(story: Story) -> list[str]:
    lines = []
    if story.gone_attempts:
        first = "attempt 1" if story.gone_attempts == 1 else f"attempts 1–{story.gone_attempts}"
        lines.append(f"• {first}: history gone (retention removed those runs); what the next run recorded follows")
    for a in story.attempts:
        if a.outcome == "gone":  # the last of the removed attempts: what its successor recorded of it
            lines.append(f"• {_seconds(a.ended_s)} attempt {a.number} failed: {_error(a)}")
        elif a.outcome == "waiting":
            lines.append(f"• {_seconds(a.began_s)} attempt {a.number} is due (waiting out its backoff)")
            continue
        else:
            lines.append(f"• {_seconds(a.began_s)} attempt {a.number} started")
            after = (f" after {took(a.ended_s - a.began_s)}"
                     if a.ended_s is not None and a.began_s is not None else "")
            if a.outcome == "succeeded":
                lines.append(f"• {_seconds(a.ended_s)} attempt {a.number} succeeded{after} → {result_shown(a.result)}")
            elif a.outcome in ("failed", "timed out"):
                lines.append(f"• {_seconds(a.ended_s)} attempt {a.number} {a.outcome}{after}: {_error(a)}")
            elif a.outcome != "running":
                lines.append(f"• {_seconds(a.ended_s)} attempt {a.number} {a.outcome}{after}"
                             + (f": {user_text(a.message, 300)}" if a.message else ""))
        if a.backoff_s is not None:
            lines.append(f"    then a {a.backoff_s:g} s backoff before attempt {a.number + 1}")
    return lines


def _error(a: StoryAttempt) -> str:
    return f"_{escape(a.error_kind or 'Error')}_: {user_text(a.message, 300)}"


def story_view(story: Story, place: Place) -> dict[str, Any]:
    """A child's story: when it started, each attempt's failure with its message and the backoff before the next,
    how it ended; times are offsets from the parent's start."""
    how = ("its attempts are activities inside this one child workflow, with a timer between them" if story.activities
           else "each attempt is a new run of the same child id")
    head = (f"*Value {escape(story.label)}* · child {code(story.workflow_id, 120)}\n"
            f"_{how}; times are from the run's start_")
    blocks: list[Block] = [section(head)]
    if story.gone:
        blocks.append(section("Its history is gone: Temporal removed it once the namespace's retention period had "
                              "passed after the child closed. The run's own result still says how it ended."))
    else:
        lines = _attempt_lines(story)
        texts, _ = pack_lines(lines, len(lines), Budget(9000, 3), line_max=700)
        blocks += [section(t) for t in texts]
        if story.final:
            blocks.append(section(f"*Final:* {story.final}"))
    return _view(STORY_CALLBACK, "A child's story", blocks, place)


def batch_view(batch: BatchFailures, place: Place) -> dict[str, Any]:
    """A batch's failures, a page at a time: each value's error type, its own message, its attempts."""
    cancelled = f" · ⏹ {batch.cancelled:,} cancelled" if batch.cancelled else ""
    head = (f"*Batch {batch.index}* of run {code(batch.run_id, 100)} · values {escape(batch.label)} "
            f"({batch.values:,})\n✓ {batch.succeeded:,} succeeded · ✗ {batch.failed:,} failed{cancelled}"
            + (f" · up to {_attempts_text(batch.attempts)}" if batch.attempts > 1 else ""))
    blocks: list[Block] = [section(head)]
    if batch.outcome:
        blocks.append(section(batch.outcome))
    elif batch.failures:
        shown = f"{batch.first + 1:,}–{batch.first + len(batch.failures):,} of {batch.failed:,}"
        lines = [f"*{f.value}* _{escape(f.kind)}_: {user_text(f.message, LINE_ERROR_MAX)}"
                 + (f" · {_attempts_text(f.attempts)}" if f.attempts > 1 else "") for f in batch.failures]
        texts, _ = pack_lines(lines, len(lines), Budget(12_000, 8), heading=f"*Failures* · {shown}")
        blocks += [section(t) for t in texts]
    else:
        blocks.append(section("No value of this batch failed."))
    blocks.append(context("Values inside a batch have no history of their own: the batch ran them in one workflow "
                          f"({code(f'{batch.run_id}-b{batch.index}', 120)}), retrying failed values in rounds. "
                          "What is known of each is here: its error, its own message, its attempts."))
    turns = []
    if place.page > 0:
        turns.append(button("◀ Previous", f"{MOVE_ACTION}:prev", value="prev"))
    if batch.first + len(batch.failures) < batch.failed and not batch.outcome:
        turns.append(button("Next ▶", f"{MOVE_ACTION}:next", value="next"))
    if turns:
        blocks.append(actions(*turns))
    return _view(BATCH_CALLBACK, "Batch failures", blocks, place)


def view_of(shown: RunPage | Story | BatchFailures, place: Place) -> dict[str, Any]:
    """The view of what Details read at ``place``: the run's page, a child's story or a batch's failures."""
    if isinstance(shown, Story):
        return story_view(shown, place)
    if isinstance(shown, BatchFailures):
        return batch_view(shown, place)
    return run_view(shown, place)
