"""The benchmark (``make bench``): figures, no assertions. Every section that measures speed starts a fresh
dev server of its own (and says so in its table), with real ``python worker.py`` and ``python -m bot``
processes:

1. compare  — the lab's ParentWorkflow (bench/lab_baseline.py) against ours, start to result, per size
              (default 5, 100, 1,000, 2,000, 2,001), alternating, medians (bench.compare);
2. ceiling  — what bounds a per-value run: 1,000 children under several parent shapes, with the server's
              and the worker's CPU, persistence and the parent's workflow tasks (bench.ceiling);
3. large    — 10k, 100k, 1M through the real bot: command -> summary -> CSV, the CSV build alone, peak RSS,
              ack latency of 20 commands at once during a second, untimed, 100k and 1M run (bench.large);
   csv      — the CSV of 1,000,000 rows built from synthetic batch outputs, a batch at a time vs one row at a
              time (bench.csv, also ``python -m bench.csv``);
4. team     — the workshop: 30 runs in three channels within ten seconds through 2 bot replicas against
              Slack's own tiers (bench.team, tests/team_load.py);
5. replicas — the same, smaller, load with 1 and with 3 replicas: Slack calls and Temporal RPCs;
6. idle     — 5,000 finished runs, nothing running, one bot idle for a minute: its Temporal RPCs;
7. down     — the bot down for --bot-down-s (300) while 10 runs finish: each summary's delay after it returns;
8. workshop — 60 users in ONE channel, a command each 0.3 s apart, through 2 bot replicas against Slack's own
              tiers, and one command in a quiet channel halfway: 429s, the channel's pace, summary lags, the
              files' drain, idle CPU of the bots and the server before and after (bench.workshop).

    python -m bench [--quick] [--sections compare,large,...] [--sizes 5,100,...] [--bot-down-s 300]
                    [--workshop-history N]

The report goes to bench/results/latest.md, and the same figures as JSON to bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import sys

from bench.infra import RESULTS, load, machine
from bench.report import Report, render

SECTIONS = ("compare", "ceiling", "large", "csv", "team", "replicas", "idle", "down", "workshop")
DEFAULT_SIZES = [5, 100, 1000, 2000, 2001, 10_000, 100_000, 1_000_000]
QUICK_SIZES = [5, 100, 1000, 10_000]
BASELINE_MAX = 2001  # sizes up to this are compared with the lab's workflow
ACK_SIZES = {100_000, 1_000_000}


async def bench(args: argparse.Namespace) -> Report:
    from bench import ceiling, compare, large, team

    report = Report(machine=machine(), load_before=load(), quick=args.quick)
    sizes = sorted(args.sizes or (QUICK_SIZES if args.quick else DEFAULT_SIZES))

    def done(section: str) -> None:
        report.loads[section] = load()
        print(f"bench: {section} done (load average {load()})", flush=True)

    if "compare" in args.sections:
        for n in [n for n in sizes if n <= BASELINE_MAX]:
            print(f"bench: {n:,} values, lab baseline vs ours…", flush=True)
            report.compared.append(await compare.compare_size(n, lab_timeout=args.lab_timeout,
                                                              repeat=1 if args.quick else args.repeat))
        done("compare")
    if "ceiling" in args.sections and not args.quick:
        for exp in [e for e in ceiling.experiments(1000) if e.name in ceiling.BENCH_SET]:
            print(f"bench: ceiling, {exp.name}…", flush=True)
            report.ceiling.append(await ceiling.measure(exp, 1000))
        done("ceiling")
    if "large" in args.sections:
        big = [n for n in sizes if n > BASELINE_MAX]
        acks = ACK_SIZES & set(big) or {max(big, default=0)}
        for n in big:
            print(f"bench: {n:,} values through the bot…", flush=True)
            report.large.append(await large.large_run(n, with_acks=n in acks))
        done("large")
    if "csv" in args.sections:
        from bench import csv as csv_build

        print("bench: the CSV of 1,000,000 rows, no Temporal…", flush=True)
        report.csv = await csv_build.measure(1_000_000, repeat=1 if args.quick else 3)
        done("csv")
    if "team" in args.sections:
        print("bench: team load (the workshop)…", flush=True)
        report.team = await team.team_load(team.QUICK_WORKSHOP if args.quick else team.WORKSHOP, "temporal-team")
        done("team")
    if "replicas" in args.sections:
        print("bench: cost in replicas…", flush=True)
        report.replicas = await team.replicas(team.QUICK_SMALL if args.quick else team.SMALL)
        done("replicas")
    if "idle" in args.sections:
        runs, idle_s = (args.idle_runs or (200 if args.quick else 5000)), (args.idle_s or (10 if args.quick else 60))
        print(f"bench: idle cost ({runs:,} finished runs, {idle_s:.0f} s idle)…", flush=True)
        report.idle = await team.idle_cost(runs, idle_s)
        done("idle")
    if "down" in args.sections:
        down_s = args.bot_down_s if args.bot_down_s is not None else (20.0 if args.quick else 300.0)
        print(f"bench: the bot down {down_s:.0f} s while 10 runs finish…", flush=True)
        report.down = await team.bot_down(10, down_s)
        done("down")
    if "workshop" in args.sections:
        from bench import workshop

        room = dataclasses.replace(workshop.QUICK if args.quick else workshop.WORKSHOP,
                                   history=args.workshop_history)
        print(f"bench: the workshop in one channel ({room.users} users, {room.idle_s:.0f} s idle windows)…",
              flush=True)
        report.workshop = await workshop.workshop(room)
        done("workshop")
    report.load_after = load()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a fast check: sizes up to 10k, one run each, smaller team loads, the bot down 20 s")
    parser.add_argument("--sections", type=lambda s: s.split(","), default=list(SECTIONS),
                        help=f"comma-separated, of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--sizes", type=lambda s: [int(x.replace("_", "")) for x in s.split(",")], default=None,
                        help=f"comma-separated value counts (default: {DEFAULT_SIZES}; --quick: {QUICK_SIZES})")
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of each side up to 1,000 values (alternating; medians reported)")
    parser.add_argument("--lab-timeout", type=float, default=60.0,
                        help="seconds a lab run may show no progress before it counts as hanging")
    parser.add_argument("--bot-down-s", type=float, default=None, help="seconds the bot stays down (300; --quick 20)")
    parser.add_argument("--idle-s", type=float, default=0, help="seconds the bot idles (60; --quick 10)")
    parser.add_argument("--idle-runs", type=int, default=0, help="finished runs before idling (5,000; --quick 200)")
    parser.add_argument("--workshop-history", type=int, default=0,
                        help="workshop: N finished runs started in Temporal, then a third idle window (0: none)")
    args = parser.parse_args()
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    report = asyncio.run(bench(args))
    markdown = render(report)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.md").write_text(markdown)
    print(markdown)
    print(f"(written to {RESULTS / 'latest.md'})")
    try:
        (RESULTS / "latest.json").write_text(json.dumps(dataclasses.asdict(report), indent=1, default=str))
        print(f"(the figures as JSON: {RESULTS / 'latest.json'})")
    except (TypeError, ValueError) as err:  # a section's figures that do not copy or encode: the markdown is out
        print(f"(no JSON written: {err})")
    sys.stdout.flush()
    os._exit(0)  # the SDK can abort at interpreter exit (sdk-python #300); the results are out


if __name__ == "__main__":
    main()
