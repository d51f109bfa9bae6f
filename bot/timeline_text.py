"""The run's execution timeline as text, for the console (``make dev``): the lab's ASCII timeline.

One row per child, scaled to the run's wall time, under the parent's span; a sequential run shows
its staircase. Above ``BAR_LIMIT`` children it is a compact concurrency summary instead.
"""

from __future__ import annotations

import numpy as np

from bot.timeline import BAR_LIMIT, TimelineData, bar_note, format_secs, speedup_text, timeline_data
from workflows.model import FanoutResult

TEXT_ROWS = 30
MARKS = {"succeeded": "✓", "failed": "✗", "cancelled": "⏹", "mixed": "◐"}
SPARKS = "▁▂▃▄▅▆▇█"


def text_timeline(result: FanoutResult, width: int = 60) -> str:
    """Rows like ``#3     ├──────┤      ✓ 0.21 s``; "" when the run has no children on its timeline."""
    data = timeline_data(result)
    if not data.bars:
        return ""
    width = max(width, 10)
    label_w = max(len("running"), *(len(f"#{b.index}") for b in data.bars[:TEXT_ROWS]))
    heading = f"Timeline · wall {format_secs(data.wall_s)} · {speedup_text(result, data.speedup)}"
    parent = _track(0.0, data.wall_s, data.wall_s, width)
    lines = [heading, f"{'parent':<{label_w}} {parent} {format_secs(data.wall_s)}"]
    if data.mode == "concurrency" or len(data.bars) > BAR_LIMIT:
        lines += _summary(data, result, label_w, width)
        return "\n".join(lines)
    for bar in data.bars[:TEXT_ROWS]:
        track = _track(bar.start_s, bar.end_s, data.wall_s, width)
        lines.append(f"{'#' + str(bar.index):<{label_w}} {track} {MARKS.get(bar.status, '?')} {bar_note(bar)}")
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
