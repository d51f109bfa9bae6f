"""What bounds a per-value run's wall time on this dev server, from figures (``python -m bench.ceiling``).

Each experiment gets a fresh dev server (in-memory, our flags) and a fresh worker process
(bench.shape_worker), warmed up, then runs N children (default 1,000) once and records:

- wall time and children per second;
- CPU seconds of the dev server and of the worker during the run (of 2 cores);
- the server's persistence: operations, their summed latency, and their share of the wall time;
- the parent(s)' workflow tasks: how many, time queued (scheduled -> started) and worked (started ->
  completed), and the share of the wall time some workflow task of the parent was in flight;
- children's start latency (initiated -> started, as the parent's history records it).

Shapes: the lab's ParentWorkflow, ours, one ShapeParent (bench.shapes) with different start windows,
trees of ShapeParents, children started by a client with no parent at all (the server's cost of a
workflow alone), and worker knobs (slots, pollers, sticky cache, the sandbox).

    python -m bench.ceiling [--n 1000] [--only name,name]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError

from bench.infra import RESULTS, Stack, cpu_seconds, load, machine, wait_for_poller
from bench.server_stats import Window
from bench.shapes import ShapeParent, ShapeSpec
from workflows.model import ChildInput, FanoutRequest, ValueRange
from workflows.parent import ParentWorkflow


@dataclass
class Experiment:
    name: str
    kind: str  # lab | ours | shape | direct
    spec: ShapeSpec | None = None
    worker_args: list[str] = field(default_factory=list)
    concurrency: int = 0  # direct: client starts in flight


# The experiments `make bench` runs (python -m bench.ceiling runs them all).
BENCH_SET = ("lab", "ours", "one parent, 50 starts", "tree of 2, 50 starts each", "no parent: client, 200 at once")


def experiments(n: int) -> list[Experiment]:
    def shape(window: int = 500, start_window: int = 50, fanout: int = 1) -> ShapeSpec:
        return ShapeSpec(1, n, window, start_window, fanout)
    return [
        Experiment("lab", "lab"),
        Experiment("ours", "ours"),
        Experiment("one parent, starts unbounded", "shape", shape(start_window=0)),
        Experiment("one parent, 25 starts", "shape", shape(start_window=25)),
        Experiment("one parent, 50 starts", "shape", shape(start_window=50)),
        Experiment("one parent, 100 starts", "shape", shape(start_window=100)),
        Experiment("one parent, 200 starts", "shape", shape(start_window=200)),
        Experiment("tree of 2, 50 starts each", "shape", shape(fanout=2)),
        Experiment("tree of 4, 25 starts each", "shape", shape(start_window=25, fanout=4)),
        Experiment("tree of 4, 50 starts each", "shape", shape(fanout=4)),
        Experiment("tree of 10, 20 starts each", "shape", shape(start_window=20, fanout=10)),
        Experiment("no parent: client, 50 at once", "direct", concurrency=50),
        Experiment("no parent: client, 200 at once", "direct", concurrency=200),
        Experiment("one parent, 50 starts; 10 slots", "shape", shape(), ["--slots", "10"]),
        Experiment("one parent, 50 starts; 500 slots", "shape", shape(), ["--slots", "500"]),
        Experiment("one parent, 50 starts; 2 pollers", "shape", shape(), ["--polls", "2"]),
        Experiment("one parent, 50 starts; 5 pollers (the SDK's default)", "shape", shape(), ["--polls", "5"]),
        Experiment("one parent, 50 starts; cache 10", "shape", shape(), ["--cache", "10"]),
        Experiment("one parent, 50 starts; no sandbox", "shape", shape(), ["--no-sandbox"]),
    ]


@dataclass
class Figures:
    name: str
    n: int
    wall_s: float
    server_cpu_s: float
    worker_cpu_s: float
    persistence_ops: int
    persistence_s: float
    parent_tasks: int = 0
    parent_queued_ms: float = 0.0  # mean
    parent_worked_ms: float = 0.0  # mean
    parent_busy: float = 0.0  # share of the wall time a task of a parent was in flight (mean over parents)
    start_latency_ms: float = 0.0  # median child start (initiated -> started)
    top_ops: list[tuple[str, int, float]] = field(default_factory=list)  # (operation, count, seconds)

    @property
    def rate(self) -> float:
        return self.n / self.wall_s


async def parent_figures(client: Client, workflow_ids: list[str], wall_s: float) -> tuple[int, float, float,
                                                                                          float, float]:
    tasks, queued, worked, busy, starts = 0, [], [], [], []
    for workflow_id in workflow_ids:
        scheduled: dict[int, float] = {}
        started: dict[int, float] = {}
        initiated: dict[int, float] = {}
        in_flight = 0.0
        first = last = None
        async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
            at = event.event_time.ToDatetime().timestamp()
            first = first if first is not None else at
            last = at
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled[event.event_id] = at
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                started[event.event_id] = at
                queued.append(at - scheduled[event.workflow_task_started_event_attributes.scheduled_event_id])
            elif kind == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                done = event.workflow_task_completed_event_attributes
                worked.append(at - started[done.started_event_id])
                in_flight += at - scheduled[done.scheduled_event_id]
                tasks += 1
            elif kind == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
                initiated[event.event_id] = at
            elif kind == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED:
                child = event.child_workflow_execution_started_event_attributes
                starts.append(at - initiated[child.initiated_event_id])
        if first is not None and last is not None and last > first:
            busy.append(in_flight / (last - first))
    mean = statistics.fmean
    return (tasks, 1000 * mean(queued) if queued else 0.0, 1000 * mean(worked) if worked else 0.0,
            mean(busy) if busy else 0.0, 1000 * statistics.median(starts) if starts else 0.0)


async def run_direct(client: Client, queue: str, n: int, concurrency: int) -> None:
    from workflows.child import ChildWorkflow

    run = f"direct-{uuid.uuid4().hex[:6]}"
    gate = asyncio.Semaphore(concurrency)

    async def one(value: int) -> None:
        async with gate:
            handle = await client.start_workflow(ChildWorkflow.run, ChildInput(value, "even"), id=f"{run}-c{value}",
                                                 task_queue=queue)
        try:
            await handle.result()
        except WorkflowFailureError:  # even values fail: the time is what is measured
            pass

    await asyncio.gather(*(one(v) for v in range(1, n + 1)))


async def run_one(stack: Stack, client: Client, queue: str, exp: Experiment, n: int) -> tuple[float, list[str]]:
    run_id = f"{exp.kind}-{uuid.uuid4().hex[:6]}"
    started = time.monotonic()
    parents = [run_id]
    if exp.kind == "lab":
        await client.execute_workflow("LabParentWorkflow", list(range(1, n + 1)), id=run_id, task_queue=queue)
    elif exp.kind == "ours":
        await client.execute_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, n)]), id=run_id,
                                      task_queue=queue)
    elif exp.kind == "shape":
        assert exp.spec is not None
        await client.execute_workflow(ShapeParent.run, exp.spec, id=run_id, task_queue=queue)
        if exp.spec.fanout > 1:
            parents = [f"{run_id}-s{k}" for k in range(exp.spec.fanout)]
    else:
        await run_direct(client, queue, n, exp.concurrency)
        parents = []
    return time.monotonic() - started, parents


async def measure(exp: Experiment, n: int) -> Figures:
    stack = Stack()
    try:
        client = await stack.start_server()
        queue = f"ceiling-{uuid.uuid4().hex[:6]}"
        worker = stack.start_worker("shape-worker", ["-m", "bench.shape_worker", *exp.worker_args], queue)
        await wait_for_poller(client, queue)
        # Warm-up: the worker's first runs import and compile; the server's first creates its queues.
        await client.execute_workflow("LabParentWorkflow", [1, 2, 3], id=f"warm-{uuid.uuid4().hex[:6]}",
                                      task_queue=queue)
        await client.execute_workflow(ShapeParent.run, ShapeSpec(1, 20, fanout=2), id=f"warm-{uuid.uuid4().hex[:6]}",
                                      task_queue=queue)
        await client.execute_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, 20)]),
                                      id=f"warm-{uuid.uuid4().hex[:6]}", task_queue=queue)
        await asyncio.sleep(1.0)
        assert stack.server is not None
        window = Window(stack.metrics_port, stack.server.pid)
        worker_before = cpu_seconds(worker.pid)
        window.start()
        wall, parents = await run_one(stack, client, queue, exp, n)
        window.stop()
        worker_cpu = cpu_seconds(worker.pid) - worker_before
        all_s, all_n = window.total("persistence_latency")
        top = sorted(((op, c, s) for op, (s, c) in window.family("persistence_latency").items()),
                     key=lambda t: -t[2])[:6]
        figures = Figures(exp.name, n, wall, window.cpu_s, worker_cpu, all_n, all_s, top_ops=top)
        if parents:
            (figures.parent_tasks, figures.parent_queued_ms, figures.parent_worked_ms, figures.parent_busy,
             figures.start_latency_ms) = await parent_figures(client, parents, wall)
        return figures
    finally:
        stack.stop()


def render(rows: list[Figures], n: int) -> str:
    out = [f"## What bounds a per-value run: {n:,} children, each experiment on a fresh dev server", "",
           f"Machine: {machine()}; load average before/after the experiments: see below.", "",
           "| shape | wall s | children/s | server CPU s (cores) | worker CPU s (cores) | persistence ops | "
           "persistence busy | parent WFTs | WFT queued / worked ms | parent busy | child start ms (median) |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for f in rows:
        out.append(
            f"| {f.name} | {f.wall_s:.2f} | {f.rate:.0f} | {f.server_cpu_s:.1f} ({f.server_cpu_s / f.wall_s:.2f}) | "
            f"{f.worker_cpu_s:.1f} ({f.worker_cpu_s / f.wall_s:.2f}) | {f.persistence_ops:,} | "
            f"{f.persistence_s / f.wall_s:.0%} | {f.parent_tasks or '—'} | "
            f"{f.parent_queued_ms:.1f} / {f.parent_worked_ms:.1f} | {f.parent_busy:.0%} | {f.start_latency_ms:.0f} |")
    out += ["", "_persistence busy_: the server's summed persistence latency over the wall time (its store is one "
            "SQLite database; above 100 % operations overlap). _parent busy_: the share of the run during which a "
            "workflow task of the parent (mean over the parents of a tree) was scheduled or running.", "",
            "Persistence operations with the most summed latency, per experiment:", ""]
    for f in rows:
        ops = ", ".join(f"{op} {c:,}× {s:.2f} s" for op, c, s in f.top_ops)
        out.append(f"- {f.name}: {ops}")
    return "\n".join(out) + "\n"


async def main_async(args: argparse.Namespace) -> str:
    chosen = [e for e in experiments(args.n) if not args.only or any(o == e.name for o in args.only)]
    before = load()
    rows = []
    for exp in chosen * args.repeat:  # rounds of every experiment: the machine's noise spreads over all
        print(f"ceiling: {exp.name}…", flush=True)
        rows.append(await measure(exp, args.n))
        f = rows[-1]
        print(f"  {f.wall_s:.2f} s, {f.rate:.0f}/s, server {f.server_cpu_s / f.wall_s:.2f} cores, worker "
              f"{f.worker_cpu_s / f.wall_s:.2f} cores, parent busy {f.parent_busy:.0%}", flush=True)
    return render(rows, args.n) + f"\nLoad average before: {before}, after: {load()}.\n"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.ceiling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--only", type=lambda s: s.split("|"), default=[], help="experiment names, separated by |")
    parser.add_argument("--repeat", type=int, default=1, help="rounds of the chosen experiments")
    args = parser.parse_args()
    text = asyncio.run(main_async(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ceiling.md").write_text(text)
    print(text)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
