"""The benchmark's results as markdown tables (printed, and written to bench/results/latest.md)."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.render_team import render_team

MB = 2**20
FRESH_ONE = "on a fresh dev server of its own (in-memory, our flags: devkit.temporal_server)"


@dataclass
class Report:
    machine: str
    load_before: str
    quick: bool = False
    load_after: str = ""
    compared: list[Any] = field(default_factory=list)  # bench.compare.Compared
    ceiling: list[Any] = field(default_factory=list)  # bench.ceiling.Figures
    large: list[Any] = field(default_factory=list)  # bench.large.Large
    csv: Any = None  # bench.csv.CsvBuild
    team: Any = None  # bench.team.Team
    replicas: list[Any] = field(default_factory=list)  # bench.team.Team
    idle: Any = None  # bench.team.Idle
    down: Any = None  # bench.team.BotDown
    workshop: Any = None  # bench.workshop.Workshop
    loads: dict[str, str] = field(default_factory=dict)  # section -> load average after it


def _s(x: float | None) -> str:
    # Milliseconds under a second: a 5-value run's sides differ by a few.
    return "—" if x is None else f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 10 else f"{x:.1f}"


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


def _compared(report: Report) -> list[str]:
    out = ["## The lab's ParentWorkflow vs ours (start → result)", "",
           f"Each size {FRESH_ONE}, with one `python worker.py` and one lab worker, both warmed up.", "",
           "| N | mode (ours) | lab s | ours s | lab values/s | ours values/s | ours vs lab | pairs (lab/ours s) | "
           "CPU during ours: server / worker | peak RSS worker lab / ours | ours root history |",
           "|---:|---|---:|---:|---:|---:|---:|---|---|---|---|"]
    for c in report.compared:
        lab = _s(c.lab_s) if c.lab_s is not None else c.lab_note
        ratio = f"{c.lab_s / c.ours_s:.3f}×" if c.lab_s else "∞ (lab never finishes)"
        pairs = ", ".join(f"{_s(a)}/{_s(b)}" for a, b in c.lab_pairs or []) or "—"
        out.append(f"| {c.n:,} | {c.mode} | {lab} | {_s(c.ours_s)} | {_rate(c.n, c.lab_s)} | "
                   f"{_rate(c.n, c.ours_s)} | {ratio} | {pairs} | {c.server_cores:.2f} / {c.worker_cores:.2f} cores | "
                   f"{_mb(c.lab_worker_mb)} / {_mb(c.worker_mb)} | {_history(c.history)} |")
    out += ["", "_ours vs lab_: the lab's seconds over ours (above 1× = ours is faster). Medians of "
            f"{max(c.runs for c in report.compared)} alternating runs up to 1,000 values, one run above.", ""]
    return out


def _ceiling(report: Report) -> list[str]:
    from bench.ceiling import render

    return [render(report.ceiling, report.ceiling[0].n), ""]


def _large(report: Report) -> list[str]:
    out = ["## Ours alone, end to end through the bot (signed slash command → summary → CSV in the thread)", "",
           f"Each size {FRESH_ONE}; one `python worker.py`; the bot as its own process (`python -m bot`, its default "
           "budgets), the fake Slack (Slack's own tiers) in the benchmark's process; a warm-up run of 1,500 "
           "values through the bot first.", "",
           "| N | mode | workflows | workflow s | command → summary s | command → summary + CSV s | values/s | "
           "CSV build s (size) | CSV one row at a time s | peak RSS worker / bot (RSS at the command) | "
           "CPU server / worker / bot | "
           "root history | largest shard history |",
           "|---:|---|---:|---:|---:|---:|---:|---|---:|---|---|---|---|"]
    for r in report.large:
        out.append(f"| {r.n:,} | {r.mode} | {r.children:,} | {_s(r.workflow_s)} | {_s(r.summary_s)} | {_s(r.csv_s)} | "
                   f"{_rate(r.n, r.csv_s)} | {_s(r.csv_build_s)} ({r.csv_mb:.1f} MB) | {_s(r.csv_rows_s)} | "
                   f"{_mb(r.worker_mb)} / {_mb(r.bot_mb)} ({_mb(r.worker_start_mb)} / {_mb(r.bot_start_mb)}) | "
                   f"{r.server_cores:.2f} / {r.worker_cores:.2f} / {r.bot_cores:.2f} cores | "
                   f"{_history(r.root_history)} | {_history(r.shard_history)} |")
    out += ["", "_workflows_: the run's child workflows (batches and shards). _values/s_ counts command → summary + "
            "CSV. _CSV build_: `bot.files.csv_file.write_csv` of `bot.runs.results.value_rows` (a batch at a time, "
            "as the "
            "reporter writes it) over the whole run from Temporal into a temporary file, timed on its own after the "
            "run; _one row at a time_: the same rows through `csv.writer`, the writer before. Peak RSS: the "
            "processes' VmHWM, reset before the command, read once its CSV is in the thread; the bot's is the bot's "
            "alone (the fake Slack is in another process). CPU: during command → CSV, in cores of the machine.", ""]
    acked = [r for r in report.large if r.acks_ms]
    if acked:
        out += ["## Ack latency: 20 signed slash commands at once while a large run is going", "",
                "| during | commands | HTTP 200 | p50 ms | p99 ms | max ms |", "|---|---:|---:|---:|---:|---:|"]
        for r in acked:
            ok = sum(1 for s in r.ack_statuses if s == 200)
            out.append(f"| {r.n:,}-value run | {len(r.acks_ms)} | {ok} | {statistics.median(r.acks_ms):.0f} | "
                       f"{percentile(r.acks_ms, 0.99):.0f} | {max(r.acks_ms):.0f} |")
        out += ["", "Each command is `/fanout 1-5` (acked, then it starts a run); sent from a separate process, during "
                "a second run of the same size after the timed one (so the burst's runs never overlap a timed run).",
                ""]
    return out


def render(report: Report) -> str:
    out = [f"# /fanout benchmark — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{' (--quick)' if report.quick else ''}",
           "", f"Machine: {report.machine}. Load average (1/5/15 min) before: {report.load_before}, after: "
           f"{report.load_after}; after each section: "
           + ", ".join(f"{k} {v}" for k, v in report.loads.items()) + ". The machine is shared: other work "
           "may run during a section, so speed is compared as ratios of runs side by side.", ""]
    if report.compared:
        out += _compared(report)
    if report.ceiling:
        out += _ceiling(report)
    if report.large:
        out += _large(report)
    if report.csv is not None:
        from bench.csv import render as render_csv

        out += ["## The CSV build alone (no Temporal: synthetic batch outputs)", "", render_csv(report.csv) + ".", ""]
    out += render_team(report)
    if report.workshop is not None:
        from bench.workshop import render as render_workshop

        out += [render_workshop(report.workshop), ""]
    return "\n".join(out)
