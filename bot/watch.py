"""Watch: a run's workflow handle -> progress while it runs, then its result.

Progress is read with the ParentWorkflow ``progress`` query and reported at most once per
``interval_s`` (Slack's chat.update is Tier 3, ~50/min per workspace), and only when it
changed. The result comes from the handle, which follows the run to its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.client import WorkflowHandle
from temporalio.service import RPCError

from workflows.model import FanoutResult, Progress
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.watch")

ProgressCallback = Callable[[Progress], Awaitable[None]]


async def watch_run(
    handle: WorkflowHandle[ParentWorkflow, FanoutResult],
    on_progress: ProgressCallback,
    *,
    interval_s: float = 3.0,
) -> FanoutResult:
    result_task = asyncio.ensure_future(handle.result())
    last: tuple[int, int, int, int, str] | None = None
    try:
        while True:
            done, _ = await asyncio.wait({result_task}, timeout=interval_s)
            if done:
                return result_task.result()
            try:
                progress = await handle.query(ParentWorkflow.progress)
            except RPCError as err:  # e.g. no worker polling right now: try again next tick
                log.debug("progress query for %s failed: %s", handle.id, err)
                continue
            key = (progress.succeeded, progress.failed, progress.running, progress.cancelled,
                   progress.cancel_requested_by)
            if key != last:
                last = key
                try:
                    await on_progress(progress)
                except Exception:  # a failed progress update must never lose the summary
                    log.exception("progress update for %s failed", handle.id)
    finally:
        if not result_task.done():
            result_task.cancel()
