"""The worker service: runs ParentWorkflow and its children on FANOUT_TASK_QUEUE.

    python worker.py

Stops cleanly on SIGTERM/SIGINT: the worker finishes in-flight workflow tasks, then exits.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from temporalio.worker import Worker

from bot.config import ConfigError, load_dotenv_once, task_queue
from bot.temporal import TemporalUnavailable, connect
from workflows.child import BatchWorkflow, ChildWorkflow, SquareChildWorkflow
from workflows.parent import ParentWorkflow

WORKFLOWS = [ParentWorkflow, ChildWorkflow, SquareChildWorkflow, BatchWorkflow]
log = logging.getLogger("fanout.worker")


def build_worker(client, queue: str) -> Worker:  # type: ignore[no-untyped-def]
    return Worker(client, task_queue=queue, workflows=WORKFLOWS)


async def run_worker() -> None:
    queue = task_queue()
    client = await connect(wait=True)
    worker = build_worker(client, queue)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("worker listening on task queue %s", queue)
    async with worker:
        await stop.wait()
        log.info("shutting down: finishing in-flight tasks")
    log.info("worker stopped")


def main() -> None:
    load_dotenv_once()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        asyncio.run(run_worker())
    except (ConfigError, TemporalUnavailable) as err:
        print(f"worker: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
