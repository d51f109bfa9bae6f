"""A run's execution timeline, as data, as a PNG (uploaded to its thread) and as text (the terminal, make dev's
console, the Details modal): pure functions of a ``FanoutResult`` and the values the run was given.

Children are labelled by the values they ran, as everything else speaks of values: a value (a value the run has
more than once adds ``#position``, the position in its child id ``<run>-c<position>``), or a batch's value ranges.

Up to ``BAR_LIMIT`` children the chart is a Gantt: one bar per child under the parent's span, so
parallel runs show bars stacked over the same seconds and ``--sequential`` runs show a staircase.
Above it, one bar per child would be unreadable, so the chart shows concurrency over time instead:
values running / succeeded / failed / cancelled, from a sweep over the children's start and end
events (O(n log n) in spans, then at most ``MAX_POINTS`` points drawn, whatever the run's size).

The PNG uses matplotlib's object API (``Figure`` + ``FigureCanvasAgg``): no pyplot, no global
backend, nothing shared between figures but fonts; renders are serialised by a lock anyway, since
matplotlib does not promise thread safety. matplotlib is imported on first render, not at bot start.
"""

from __future__ import annotations

import io
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from bot.language.help import range_text
from bot.render.blocks import format_duration
from workflows.model import ChildSpan, FanoutResult, ValueRange
from workflows.values import chunk_ranges, iter_values

if TYPE_CHECKING:
    from matplotlib.axes import Axes

BAR_LIMIT = 200  # more spans than this: concurrency over time instead of one bar per child
MAX_POINTS = 5000  # series longer than this are resampled on a regular grid before drawing
LABEL_LIMIT = 30  # up to this many bars, each bar is labelled with its duration
HATCH_LIMIT = 60  # up to this many bars, failed and mixed bars are hatched too (thinner ones: colour only)
WIDTH_PX, DPI = 1000, 100
MIN_HEIGHT_PX, MAX_HEIGHT_PX, ROW_PX = 360, 900, 24
CONCURRENCY_HEIGHT_PX = 560

COLOURS = {
    "succeeded": "#2e9e44",  # green
    "failed": "#d62f2f",  # red
    "cancelled": "#9e9e9e",  # grey
    "mixed": "#f0a30a",  # amber: a batch with some failed values
    "running": "#3b7dd8",  # blue
    "parent": "#444444",
}
HATCHES = {"failed": "//", "mixed": "\\\\"}  # so failures read without colour too
LABEL_RANGES = 2  # a batch over more value ranges than this is labelled by its first ones and "…"
LABELS = {"succeeded": "succeeded", "failed": "failed", "cancelled": "cancelled",
          "mixed": "batch with some failed values", "running": "running"}
_RENDER_LOCK = threading.Lock()


@dataclass(frozen=True)
class Bar:
    index: int
    start_s: float
    end_s: float
    status: str  # succeeded | failed | cancelled | mixed
    attempts: int = 1
    values: int = 1


@dataclass(frozen=True)
class Series:
    """Values in each state over time: step functions, each value holding from ``t_s[i]`` on."""

    t_s: npt.NDArray[np.float64]
    running: npt.NDArray[np.int64]
    succeeded: npt.NDArray[np.int64]
    failed: npt.NDArray[np.int64]
    cancelled: npt.NDArray[np.int64]


@dataclass(frozen=True)
class TimelineData:
    mode: str  # "bars" (Gantt) | "concurrency"
    wall_s: float
    speedup: float | None  # child_s_sum / wall_s: how much faster than one child after another
    bars: list[Bar]  # every span, by index (also kept in concurrency mode, for the text summary)
    series: Series | None  # concurrency mode only
    peak_children: int  # most children running at once


def value_labels(indexes: Collection[int], ranges: Sequence[ValueRange], batch_size: int) -> dict[int, str]:
    """The label of each child (by its span's index) among ``indexes``: its value, with ``#position`` when the run has
    that value more than once; a batch's value ranges (``batch_size`` > 1: the index is the batch's, run-wide).
    One pass over the ranges; a per-value run has at most MAX_CHILD_WORKFLOWS values."""
    if batch_size <= 1:
        values = list(iter_values(ranges))
        seen = Counter(values)
        return {i: str(values[i]) if seen[values[i]] == 1 else f"{values[i]} #{i}"
                for i in indexes if 0 <= i < len(values)}
    labels = {}
    for index, chunk in enumerate(chunk_ranges(ranges, batch_size)):
        if index in indexes:
            shown = " ".join(range_text(r) for r in chunk[:LABEL_RANGES])
            labels[index] = shown + (" …" if len(chunk) > LABEL_RANGES else "")
    return labels


def _labels(bars: Sequence[Bar], result: FanoutResult, ranges: Sequence[ValueRange]) -> list[str]:
    """The bars' labels, in order (``#index`` for a child the ranges do not reach, which no run has)."""
    known = value_labels({b.index for b in bars}, ranges, result.batch_size)
    return [known.get(b.index, f"#{b.index}") for b in bars]


def speedup(result: FanoutResult) -> float | None:
    return result.child_s_sum / result.wall_s if result.wall_s > 0 and result.child_s_sum > 0 else None


def timeline_data(result: FanoutResult) -> TimelineData:
    """What the chart draws: the bars, or the concurrency series for runs with many children."""
    spans = sorted(result.spans, key=lambda s: s.index)
    bars = [Bar(s.index, s.start_ms / 1000, s.end_ms / 1000, s.status, s.attempts, s.values) for s in spans]
    wall = max([result.wall_s, *(b.end_s for b in bars)])
    mode = "concurrency" if len(bars) > BAR_LIMIT else "bars"
    series = concurrency(spans, result.success_count, result.failure_count) if mode == "concurrency" else None
    peak = int(_sweep(spans, [np.ones(len(spans), np.int64)])[1].max(initial=0)) if spans else 0
    return TimelineData(mode, wall, speedup(result), bars, series, peak)


def concurrency(spans: list[ChildSpan], success_count: int, failure_count: int) -> Series:
    """Values running / succeeded / failed / cancelled over time. A "mixed" batch's span does not say
    how its values ended: the run's successes, then failures, not accounted for by the other spans are
    shared among the mixed batches in proportion to their size (whole values; the rest of a mixed batch
    was cancelled), so the series end at the run's exact success and failure counts."""
    values = np.fromiter((s.values for s in spans), np.int64, len(spans))
    status = np.array([s.status for s in spans], dtype=object)
    succeeded = np.where(status == "succeeded", values, 0)
    failed = np.where(status == "failed", values, 0)
    cancelled = np.where(status == "cancelled", values, 0)
    mixed = np.where(status == "mixed", values, 0)
    if mixed.any():
        mixed_ok = _pro_rata(mixed, success_count - int(succeeded.sum()))
        mixed_failed = _pro_rata(mixed - mixed_ok, failure_count - int(failed.sum()))
        succeeded, failed = succeeded + mixed_ok, failed + mixed_failed
        cancelled = cancelled + mixed - mixed_ok - mixed_failed
    t_s, running, ok, bad, stopped = _sweep(spans, [values, succeeded, failed, cancelled])
    return Series(t_s, running, ok, bad, stopped)


def _pro_rata(weights: npt.NDArray[np.int64], amount: int) -> npt.NDArray[np.int64]:
    """``amount`` (clipped to 0..sum) split in whole parts proportional to ``weights``, none above its weight."""
    total = int(weights.sum())
    if total <= 0 or amount <= 0:
        return np.zeros_like(weights)
    cum = np.rint(np.cumsum(weights) * (min(amount, total) / total)).astype(np.int64)
    return np.diff(cum, prepend=0)


def _sweep(spans: list[ChildSpan], weights: list[npt.NDArray[np.int64]]) -> list[npt.NDArray]:
    """Sort the start and end events once; returns times (s, from 0) and, for the first weight, the
    running total, for each other weight the total of ended spans: the state after each distinct time."""
    n = len(spans)
    starts = np.fromiter((s.start_ms for s in spans), np.int64, n)
    ends = np.maximum(np.fromiter((s.end_ms for s in spans), np.int64, n), starts)
    times = np.concatenate([[0], starts, ends])
    order = np.argsort(times, kind="stable")
    t_sorted = times[order]
    last = np.r_[np.flatnonzero(np.diff(t_sorted)), len(t_sorted) - 1]  # last event at each distinct time
    zero = np.zeros(1, np.int64)
    out: list[npt.NDArray] = [t_sorted[last] / 1000.0]
    for k, w in enumerate(weights):
        deltas = np.concatenate([zero, w if k == 0 else np.zeros(n, np.int64), -w if k == 0 else w])
        out.append(np.cumsum(deltas[order])[last])
    return out


# -- PNG --------------------------------------------------------------------------------------------------------


def figure_size_px(data: TimelineData) -> tuple[int, int]:
    if data.mode == "concurrency":
        return WIDTH_PX, CONCURRENCY_HEIGHT_PX
    return WIDTH_PX, max(MIN_HEIGHT_PX, min(MAX_HEIGHT_PX, 170 + ROW_PX * (len(data.bars) + 1)))


def render_timeline_png(result: FanoutResult, run_id: str, ranges: Sequence[ValueRange]) -> bytes:
    """The run's timeline chart as PNG bytes (``figure_size_px`` pixels); ``ranges`` are the run's values."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    data = timeline_data(result)
    width, height = figure_size_px(data)
    with _RENDER_LOCK:
        fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if data.mode == "bars":
            _draw_bars(ax, data, _labels(data.bars, result, ranges))
        else:
            _draw_concurrency(ax, data, result.total_children)
        ax.set_title(_title(result, run_id, data), loc="left", fontsize=11)
        ax.set_xlabel("seconds since the run started")
        ax.grid(axis="x", color="#dddddd", linewidth=0.8)
        ax.set_axisbelow(True)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return buf.getvalue()


def _title(result: FanoutResult, run_id: str, data: TimelineData) -> str:
    name = run_id if len(run_id) <= 70 else run_id[:69] + "…"
    parts = [f"wall {format_secs(data.wall_s)}", speedup_text(result, data.speedup)]
    counts = f"{result.success_count:,} succeeded · {result.failure_count:,} failed"
    if result.cancelled_count:
        counts += f" · {result.cancelled_count:,} cancelled"
    children = f"{len(data.bars):,} child workflows" + (f" (batches of {result.batch_size:,})"
                                                       if result.batch_size > 1 else "")
    text = f"Run {name}\n{' · '.join(parts)}\n{counts} of {result.total_children:,} values · {children}"
    return text.replace("$", r"\$")  # no mathtext from user-controlled text


def speedup_text(result: FanoutResult, ratio: float | None) -> str:
    child_time = f"{format_secs(result.child_s_sum)} of child time"
    if result.sequential:
        return f"sequential: children one after another ({child_time})"
    if ratio is None:
        return "no child time recorded"
    return f"{format_speedup(ratio)} faster than one after another ({child_time})"


def format_speedup(x: float) -> str:
    return f"{x:,.1f}×" if x < 100 else f"{x:,.0f}×"


def _draw_bars(ax: Axes, data: TimelineData, labels: list[str]) -> None:
    from matplotlib.patches import Patch

    n = len(data.bars)
    ax.barh([0], [data.wall_s], left=[0], height=0.6, color=COLOURS["parent"])
    ys = list(range(1, n + 1))
    for status in ("succeeded", "failed", "cancelled", "mixed"):
        rows = [(y, b) for y, b in zip(ys, data.bars, strict=True) if b.status == status]
        if rows:
            ax.barh([y for y, _ in rows], [max(b.end_s - b.start_s, data.wall_s / 500) for _, b in rows],
                    left=[b.start_s for _, b in rows], height=0.7, color=COLOURS[status],
                    hatch=HATCHES.get(status) if n <= HATCH_LIMIT else None, edgecolor="white",
                    linewidth=0.5 if n <= HATCH_LIMIT else 0)
    if n <= LABEL_LIMIT:
        for y, b in zip(ys, data.bars, strict=True):
            ax.text(b.end_s + data.wall_s * 0.01, y, bar_note(b), va="center", fontsize=8, color="#333333")
        ax.text(data.wall_s + data.wall_s * 0.01, 0, format_secs(data.wall_s), va="center", fontsize=8)
    step = max(1, int(np.ceil(n / 40)))
    ticks = [0, *range(1, n + 1, step)]
    ax.set_yticks(ticks, ["parent", *(labels[t - 1] for t in ticks[1:])], fontsize=8)
    ax.set_ylim(n + 0.7, -0.7)  # parent on top, children in index order below it
    ax.set_xlim(0, data.wall_s * (1.16 if n <= LABEL_LIMIT else 1.02) or 1)
    present = [s for s in ("succeeded", "failed", "cancelled", "mixed") if any(b.status == s for b in data.bars)]
    handles = [Patch(color=COLOURS["parent"], label="parent (the whole run)")]
    handles += [Patch(facecolor=COLOURS[s], hatch=HATCHES.get(s), edgecolor="white", label=LABELS[s]) for s in present]
    ax.figure.legend(handles=handles, loc="outside lower center", ncol=len(handles), frameon=False, fontsize=9)


def bar_note(b: Bar) -> str:
    """A bar's label: its duration, and its values and attempts when more than one (PNG and text)."""
    note = format_secs(b.end_s - b.start_s)
    if b.values > 1:
        note += f" · {b.values:,} values"
    if b.attempts > 1:
        note += f" · {b.attempts} attempts"
    return note


def _draw_concurrency(ax: Axes, data: TimelineData, total: int) -> None:
    s = data.series
    assert s is not None
    t, layers = s.t_s, [s.succeeded, s.failed, s.cancelled, s.running]
    t, layers = np.append(t, max(data.wall_s, float(t[-1]))), [np.append(a, a[-1]) for a in layers]
    if len(t) > MAX_POINTS:  # a regular grid: the state at each grid time, exactly
        grid = np.linspace(0.0, float(t[-1]), MAX_POINTS)
        at = np.searchsorted(t, grid, side="right") - 1
        t, layers = grid, [a[at] for a in layers]
    labels = {**LABELS, "running": f"running (peak {data.peak_children:,} children)"}
    if any(b.status == "mixed" for b in data.bars):
        labels["failed"] = "failed (within a batch: estimated pro rata)"
    bottom = np.zeros(len(t))
    for name, layer in zip(("succeeded", "failed", "cancelled", "running"), layers, strict=True):
        top = bottom + layer
        if layer.any():
            ax.fill_between(t, bottom, top, step="post", color=COLOURS[name], linewidth=0, label=labels[name])
        bottom = top
    ax.axhline(total, color="#555555", linestyle="--", linewidth=1, label=f"all {total:,} values")
    ax.axvline(data.wall_s, color=COLOURS["parent"], linewidth=1,
               label=f"parent completes ({format_secs(data.wall_s)})")
    ax.set_xlim(0, max(data.wall_s, 1e-3) * 1.02)
    ax.set_ylim(0, max(total, int(bottom.max(initial=0)), 1) * 1.05)
    ax.set_ylabel("values")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:,.0f}")
    ax.figure.legend(loc="outside lower center", ncol=3, frameon=False, fontsize=9)


def format_secs(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 10 else format_duration(seconds)


# -- text -------------------------------------------------------------------------------------------------------

TEXT_ROWS = 30
MARKS = {"succeeded": "✓", "failed": "✗", "cancelled": "⏹", "mixed": "◐"}
SPARKS = "▁▂▃▄▅▆▇█"


def text_timeline(result: FanoutResult, ranges: Sequence[ValueRange], width: int = 60) -> str:
    """Rows like ``4      ├──────┤      ✗ 0.21 s`` (a child labelled by its value: ``ranges`` are the run's values);
    "" when the run has no children on its timeline."""
    data = timeline_data(result)
    if not data.bars:
        return ""
    width = max(width, 10)
    shown = data.bars[:TEXT_ROWS] if data.mode == "bars" else []
    labels = _labels(shown, result, ranges)
    label_w = max([len("running"), *(len(label) for label in labels)])
    heading = f"Timeline · wall {format_secs(data.wall_s)} · {speedup_text(result, data.speedup)}"
    parent = _track(0.0, data.wall_s, data.wall_s, width)
    lines = [heading, f"{'parent':<{label_w}} {parent} {format_secs(data.wall_s)}"]
    if data.mode == "concurrency" or len(data.bars) > BAR_LIMIT:
        lines += _summary(data, result, label_w, width)
        return "\n".join(lines)
    for bar, label in zip(shown, labels, strict=True):
        track = _track(bar.start_s, bar.end_s, data.wall_s, width)
        lines.append(f"{label:<{label_w}} {track} {MARKS.get(bar.status, '?')} {bar_note(bar)}")
    if len(data.bars) > TEXT_ROWS:
        rest = data.bars[TEXT_ROWS:]
        counts = ", ".join(f"{n} {s}" for s in MARKS if (n := sum(b.status == s for b in rest)))
        lines.append(f"…and {len(rest):,} more ({counts})")
    return "\n".join(lines)


def _track(start: float, end: float, wall: float, width: int) -> str:
    scale = (width - 1) / wall if wall > 0 else 0.0
    a = min(width - 1, max(0, round(start * scale)))
    b = min(width - 1, max(a, round(end * scale)))
    cells = [" "] * width
    if a == b:
        cells[a] = "│"
    else:
        cells[a], cells[b] = "├", "┤"
        cells[a + 1:b] = "─" * (b - a - 1)
    return "".join(cells)


def _summary(data: TimelineData, result: FanoutResult, label_w: int, width: int) -> list[str]:
    """Sparklines of values running and done, sampled over the wall time (4 samples a column)."""
    s = data.series
    assert s is not None
    grid = np.linspace(0.0, max(data.wall_s, 1e-9), width * 4, endpoint=False) + data.wall_s / (width * 8)
    at = np.searchsorted(s.t_s, grid, side="right") - 1
    running = s.running[at].reshape(width, 4).max(axis=1)
    done = (s.succeeded + s.failed + s.cancelled)[at].reshape(width, 4).max(axis=1)
    done[-1] = s.succeeded[-1] + s.failed[-1] + s.cancelled[-1]
    counts = f"{result.success_count:,} succeeded · {result.failure_count:,} failed"
    if result.cancelled_count:
        counts += f" · {result.cancelled_count:,} cancelled"
    return [
        f"{'running':<{label_w}} {_spark(running, width)} peak {data.peak_children:,} children at once",
        f"{'done':<{label_w}} {_spark(done, width)} {counts} (values)",
        f"{len(data.bars):,} child workflows"
        + (f", batches of {result.batch_size:,}" if result.batch_size > 1 else ""),
    ]


def _spark(values: np.ndarray, width: int) -> str:
    top = float(values.max(initial=0))
    if top <= 0:
        return " " * width
    levels = np.clip(np.ceil(values / top * len(SPARKS)).astype(int) - 1, 0, len(SPARKS) - 1)
    return "".join(" " if v <= 0 else SPARKS[int(lv)] for v, lv in zip(values, levels, strict=True))
