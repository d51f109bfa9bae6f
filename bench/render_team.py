"""The team sections of the benchmark's report (bench.team): the workshop, cost in replicas, idle cost,
the bot down while runs finish."""

from __future__ import annotations

import math
import statistics
from typing import Any

from tests.team_load import CHANNEL_PACE_S, SUMMARY_WITHIN_S

FRESH = "on a fresh dev server of its own"


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "none"


def _all_one(values: list[int]) -> str:
    ones = sum(1 for v in values if v == 1)
    return f"{ones}/{len(values)} ({'all 1' if ones == len(values) else 'NOT all 1: ' + str(values)})"


def _team(team: Any) -> list[str]:
    f, load = team.figures, team.load
    late = f"; past both: {'; '.join(f.summaries_late)}" if f.summaries_late else ""
    pace = "yes" if not f.summaries_late else "no"
    return [
        f"## Team load: the workshop ({load.runs} runs of `{load.text}` in {load.channels} channels within "
        f"{load.spread_s:.0f} s, {load.replicas} bot replicas)", "",
        f"Bot replicas as real processes, one `python worker.py`, {FRESH}; the fake Slack enforces Slack's own tiers "
        f"per workspace. The load took {f.seconds:.0f} s.", "",
        "| figure | value |", "|---|---|",
        f"| Slack calls attempted, by method | {_counts(team.attempts_by_method)} |",
        f"| chat.update attempts / peak per rolling minute | {f.update_attempts} / {f.update_max_per_minute} "
        "(Slack's Tier 3: 50) |",
        f"| 429s, by method | {_counts(team.limited_by_method)} |",
        f"| run messages per run | {_all_one(f.run_messages)} |",
        f"| summaries per run | {_all_one(f.summaries)} |",
        f"| run messages left not in their final state | {f.runs - f.final_states} |",
        f"| max summary lag after its run closed | {f.summary_lag_max_s:.1f} s (each within {SUMMARY_WITHIN_S:.0f} s "
        f"or the channel's {CHANNEL_PACE_S:.0f}/s pace: {pace}{late}) |",
        f"| max final-edit lag after its summary | {f.final_edit_lag_max_s:.1f} s |",
        f"| max command → run message | {f.run_message_lag_max_s:.2f} s |", ""]


def _replicas(teams: list[Any]) -> list[str]:
    load = teams[0].load
    head = "| figure | " + " | ".join(f"{t.figures.replicas} replica{'s' if t.figures.replicas > 1 else ''}"
                                      for t in teams) + " | ratio (last / first) |"
    out = [f"## Cost flat in replicas ({load.runs} runs of `{load.text}` in {load.channels} channels)", "",
           f"The same load with each number of replicas, each {FRESH}. Slack calls as the fake counts them; Temporal "
           "RPCs by method from the dev server's metrics during the load, long polls apart (they grow with the "
           "pollers, not the work).", "", head, "|---|" + "---:|" * (len(teams) + 1)]

    def row(name: str, values: list[float]) -> str:
        ratio = f"{values[-1] / values[0]:.2f}" if values[0] else ("1.00" if not values[-1] else "∞")
        return f"| {name} | " + " | ".join(f"{v:,.0f}" for v in values) + f" | {ratio} |"

    out.append(row("Slack calls", [t.figures.slack_attempts for t in teams]))
    methods = sorted(set().union(*(t.figures.rpcs for t in teams)))
    out.append(row("Temporal RPCs, all but long polls", [sum(t.figures.rpcs.values()) for t in teams]))
    out += [row(f"· {m}", [t.figures.rpcs.get(m, 0) for t in teams]) for m in methods]
    polls = sorted(set().union(*(t.figures.long_polls for t in teams)))
    out += [row(f"long polls: {m}", [t.figures.long_polls.get(m, 0) for t in teams]) for m in polls]
    out += ["", "RecordWorkerHeartbeat comes from the fan-out worker (the SDK's once-a-minute heartbeat); the bot "
            "sends none.", ""]
    return out


def _idle(idle: Any) -> list[str]:
    calls = _counts(idle.calls) if idle.calls else "none"
    return [f"## Idle cost ({idle.finished_runs:,} finished runs in the namespace, nothing running)", "",
            f"{FRESH.capitalize()}: {idle.finished_runs - 5:,} plain `ParentWorkflow`s of one value started from a "
            "client and 5 runs through the bot's reporters, all finished (the design before reporters scanned the "
            "last 24 h of runs every 15 s); then the fan-out worker was stopped, so the bot was the server's only "
            f"client. Set-up took {idle.setup_s:.0f} s. Open meanwhile, waiting on timers: "
            f"{_counts(idle.still_open)}.", "",
            f"- Temporal RPCs of the idle bot in {idle.idle_s:.0f} s, by method, beyond long polls: **{calls}**",
            f"- its `/healthz` afterwards: `{idle.health}`", ""]


def _down(down: Any) -> list[str]:
    delays = [d for d in down.delays_s if not math.isnan(d)]
    once = sum(1 for s in down.summaries if s == 1)
    listed = ", ".join("—" if math.isnan(d) else f"{d:.1f}" for d in down.delays_s)
    return [f"## Bot down {down.down_s:.0f} s while {down.runs} runs finish", "",
            f"{FRESH.capitalize()}: {down.runs} runs started through the bot (each in its own channel), the bot "
            f"killed (SIGKILL) once their run messages were posted, every run finished, and {down.down_s:.0f} s after "
            f"the kill the bot started again (its start-up to polling: {down.startup_s:.1f} s).", "",
            f"- each summary's delay after the bot's return (spawned), s: {listed}",
            (f"- median {statistics.median(delays):.1f} s, max {max(delays):.1f} s" if delays
             else "- no summary arrived"),
            f"- summaries exactly once: {once}/{down.runs}; run messages in their final state: "
            f"{down.final_edits}/{down.runs}, the last {down.final_edit_max_s:.1f} s after the bot's return (final "
            "edits share the workspace's edit budget, 40 a minute)", ""]


def render_team(report: Any) -> list[str]:
    out: list[str] = []
    if report.team is not None:
        out += _team(report.team)
    if report.replicas:
        out += _replicas(report.replicas)
    if report.idle is not None:
        out += _idle(report.idle)
    if report.down is not None:
        out += _down(report.down)
    return out
