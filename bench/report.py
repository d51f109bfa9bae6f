"""The benchmark's results as markdown tables (printed, and written to bench/results/latest.md)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MB = 2**20


@dataclass
class Report:
    machine: str
    load_before: str
    load_after: str = ""
    compared: list[Any] = field(default_factory=list)  # bench.__main__.Compared
    large: list[Any] = field(default_factory=list)  # bench.__main__.Large


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}" if x < 10 else f"{x:.1f}"


def _rate(n: int, s: float | None) -> str:
    return "—" if not s else f"{n / s:,.0f}"


def _mb(x: float) -> str:
    return "—" if math.isnan(x) else f"{x:.0f} MB"


def _history(h: tuple[int, int]) -> str:
    return f"{h[0]:,} ev / {h[1] / MB:.2f} MB"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def render(report: Report) -> str:
    out = [f"# /fanout benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", "",
           f"Machine: {report.machine}. Load average (1/5/15 min) before: {report.load_before}, "
           f"after: {report.load_after}. One dev server (in-memory), one `python worker.py`.", ""]
    if report.compared:
        out += ["## The lab's ParentWorkflow vs ours (start → result)", "",
                "| N | mode (ours) | lab s | ours s | lab values/s | ours values/s | ours vs lab | "
                "peak RSS worker lab / ours | ours root history |",
                "|---:|---|---:|---:|---:|---:|---:|---|---|"]
        for c in report.compared:
            lab = _s(c.lab_s) if c.lab_s is not None else c.lab_note
            ratio = f"{c.lab_s / c.ours_s:.2f}×" if c.lab_s else "∞ (lab never finishes)"
            out.append(f"| {c.n:,} | {c.mode} | {lab} | {_s(c.ours_s)} | {_rate(c.n, c.lab_s)} | "
                       f"{_rate(c.n, c.ours_s)} | {ratio} | {_mb(c.lab_worker_mb)} / {_mb(c.worker_mb)} | "
                       f"{_history(c.history)} |")
        out += ["", "_ours vs lab_: the lab's seconds over ours (above 1× = ours is faster). Medians of "
                f"{max(c.runs for c in report.compared)} alternating runs up to 1,000 values, one run above; "
                "both workers warmed up first.", ""]
    if report.large:
        out += ["## Ours alone, end to end through the bot (signed slash command → summary → CSV in the thread)", "",
                "| N | mode | workflow s | command → summary s | command → summary + CSV s | values/s | "
                "CSV build s (size) | peak RSS worker / bot | root history | largest shard history |",
                "|---:|---|---:|---:|---:|---:|---|---|---|---|"]
        for r in report.large:
            out.append(f"| {r.n:,} | {r.mode} | {_s(r.workflow_s)} | {_s(r.summary_s)} | {_s(r.csv_s)} | "
                       f"{_rate(r.n, r.csv_s)} | {_s(r.csv_build_s)} ({r.csv_mb:.1f} MB) | "
                       f"{_mb(r.worker_mb)} / {_mb(r.bot_mb)} | {_history(r.root_history)} | "
                       f"{_history(r.shard_history)} |")
        out += ["", "_values/s_ counts command → summary + CSV. _CSV build_: `bot.results.value_rows` over the "
                "whole run into a temporary file, timed on its own after the run. The bot's RSS includes the fake "
                "Slack server in the same process (which holds the uploaded CSV until reset).", ""]
        acked = [r for r in report.large if r.acks_ms]
        if acked:
            out += ["## Ack latency: 20 signed slash commands at once while a large run is going", "",
                    "| during | commands | HTTP 200 | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
            for r in acked:
                ok = sum(1 for s in r.ack_statuses if s == 200)
                out.append(f"| {r.n:,}-value run | {len(r.acks_ms)} | {ok} | "
                           f"{statistics.median(r.acks_ms):.0f} | {percentile(r.acks_ms, 0.99):.0f} | "
                           f"{max(r.acks_ms):.0f} |")
            out += ["", "Each command is `/fanout 1-5` (acked, then it starts a run); sent from a separate process.",
                    ""]
    return "\n".join(out)
