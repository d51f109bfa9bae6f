"""Watch: a run's workflow handle -> progress while it runs, then its result.

Progress is read with the ParentWorkflow ``progress`` query once per ``interval_s`` and reported
when it changed — and every ``refresh_every`` intervals even when it did not, so the elapsed time
keeps moving on long children. Reporting is never faster than the interval (the reporter also
spaces its chat.update calls: Slack's Tier 3, ~50/min per workspace). The result comes from the
handle, which follows the run to its end.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio.client import WorkflowHandle

from workflows.model import FanoutResult, Progress
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.watch")

ProgressCallback = Callable[[Progress], Awaitable[None]]
QUERY_TIMEOUT = timedelta(seconds=5)  # no worker answering must not stall the watch for long


def _key(progress: Progress) -> tuple[int, int, int, int, str]:
    return (progress.succeeded, progress.failed, progress.running, progress.cancelled, progress.cancel_requested_by)


async def watch_run(
    handle: WorkflowHandle[ParentWorkflow, FanoutResult],
    on_progress: ProgressCallback,
    *,
    interval_s: float = 3.0,
    refresh_every: int = 5,
) -> FanoutResult:
    """The run's result; meanwhile ``on_progress`` with each changed progress. Raises what
    ``handle.result()`` raises (WorkflowFailureError when the run failed, RPCError)."""
    result_task = asyncio.ensure_future(handle.result())
    last: tuple[int, int, int, int, str] | None = None
    unchanged = 0
    try:
        while True:
            done, _ = await asyncio.wait({result_task}, timeout=interval_s)
            if done:
                return result_task.result()
            try:
                progress = await handle.query(ParentWorkflow.progress, rpc_timeout=QUERY_TIMEOUT)
            except Exception as err:  # no worker polling right now, a restart...: try again next tick
                log.debug("progress query for %s failed: %s", handle.id, err)
                continue
            if progress.done:
                continue  # the result is on its way; the summary and the final update follow
            key = _key(progress)
            unchanged = unchanged + 1 if key == last else 0
            if key == last and unchanged % max(refresh_every, 1):
                continue
            last = key
            try:
                await on_progress(progress)
            except Exception:  # a failed progress update must never lose the summary
                log.exception("progress update for %s failed", handle.id)
    finally:
        if not result_task.done():
            result_task.cancel()
