"""A worker for the lab baseline only (LabParentWorkflow, LabChildWorkflow) on FANOUT_TASK_QUEUE,
as the lab runs it: the SDK's defaults (worker.py tunes its pollers: runtime.worker.WORKFLOW_TASK_POLLS). Its module's
bytecode is cached as worker.py caches its own (runtime.worker.cache_bytecode), so neither pays for the source being
compiled again for every run.

    python -m bench.lab_worker
"""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import Worker

from bench.lab_baseline import LabChildWorkflow, LabParentWorkflow
from runtime.config import task_queue
from runtime.temporal import connect
from runtime.worker import cache_bytecode


async def main() -> None:
    cache_bytecode([LabParentWorkflow, LabChildWorkflow])
    client = await connect(wait=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue(), workflows=[LabParentWorkflow, LabChildWorkflow]):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
