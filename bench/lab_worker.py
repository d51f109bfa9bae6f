"""A worker for the lab baseline only (LabParentWorkflow, LabChildWorkflow) on FANOUT_TASK_QUEUE,
configured like worker.py's (the SDK's defaults), so the two are compared like for like.

    python -m bench.lab_worker
"""

from __future__ import annotations

import asyncio
import signal

from temporalio.worker import Worker

from bench.lab_baseline import LabChildWorkflow, LabParentWorkflow
from bot.config import task_queue
from bot.temporal import connect


async def main() -> None:
    client = await connect(wait=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=task_queue(), workflows=[LabParentWorkflow, LabChildWorkflow]):
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
