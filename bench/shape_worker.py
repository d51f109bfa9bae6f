"""A worker for the ceiling experiments (bench/ceiling.py): worker.py's workflows, the lab's and
bench.shapes.ShapeParent on FANOUT_TASK_QUEUE, with the worker's knobs as arguments.

    python -m bench.shape_worker [--slots N] [--polls N] [--cache N] [--no-sandbox]

``--slots``: max_concurrent_workflow_tasks (SDK default 100); ``--polls``: workflow task pollers
(worker.py's WORKFLOW_TASK_POLLS by default, for every experiment, the lab's included; the SDK's default is 5);
``--cache``: max_cached_workflows (sticky cache, SDK default 1000; 0 turns sticky execution off).
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from temporalio.worker import PollerBehaviorSimpleMaximum, UnsandboxedWorkflowRunner, Worker

from bench.lab_baseline import LabChildWorkflow, LabParentWorkflow
from bench.shapes import ShapeParent
from runtime.config import task_queue
from runtime.temporal import connect
from runtime.worker import WORKFLOW_RUNNER, WORKFLOW_TASK_POLLS, WORKFLOWS, cache_bytecode


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slots", type=int, default=0)
    parser.add_argument("--polls", type=int, default=WORKFLOW_TASK_POLLS)
    parser.add_argument("--cache", type=int, default=1000)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    cache_bytecode([*WORKFLOWS, ShapeParent, LabParentWorkflow, LabChildWorkflow])
    client = await connect(wait=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    options: dict[str, object] = {"max_cached_workflows": args.cache}
    if args.slots:
        options["max_concurrent_workflow_tasks"] = args.slots
    if args.polls:  # worker.py's by default
        options["workflow_task_poller_behavior"] = PollerBehaviorSimpleMaximum(args.polls)
    runner = UnsandboxedWorkflowRunner() if args.no_sandbox else WORKFLOW_RUNNER
    async with Worker(client, task_queue=task_queue(), workflows=[*WORKFLOWS, ShapeParent, LabParentWorkflow,
                                                                     LabChildWorkflow],
                      workflow_runner=runner, **options):  # type: ignore[arg-type]
        print("shape worker ready", flush=True)
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
