"""Attachment: the run's timeline PNG, uploaded into the run's thread after the summary."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.runs import RunInfo
from bot.timeline import format_secs, format_speedup, render_timeline_png, speedup
from workflows.model import FanoutResult

log = logging.getLogger("fanout.timeline")


def timeline_filename(run: RunInfo) -> str:
    return f"{run.workflow_id}-timeline.png"


async def upload_timeline(slack: AsyncWebClient, handle: Any, run: RunInfo, result: FanoutResult) -> None:
    """Render off the event loop (it is CPU work), then ``files_upload_v2`` into the thread. Never raises
    for a render or upload failure: the summary already stands, so it is logged and the run moves on (the
    client's own retry handlers bound any retrying)."""
    if not result.spans:
        return
    try:
        png = await asyncio.to_thread(render_timeline_png, result, run.workflow_id)
        await slack.files_upload_v2(
            content=png,
            filename=timeline_filename(run),
            title=f"Execution timeline of {run.workflow_id}",
            alt_txt=alt_text(result),
            channel=run.channel_id,
            thread_ts=run.thread_ts or None,
        )
    except Exception:
        log.warning("timeline upload for %s failed; the summary stands", run.workflow_id, exc_info=True)
        return
    log.info("timeline of %s uploaded (%d bytes)", run.workflow_id, len(png))


def alt_text(result: FanoutResult) -> str:
    """A one-line description of the chart for screen readers (Slack's alt text)."""
    ratio = speedup(result)
    faster = f", {format_speedup(ratio)} faster than one after another" if ratio is not None else ""
    return (f"Timeline of {len(result.spans):,} child workflows: {result.success_count:,} succeeded, "
            f"{result.failure_count:,} failed, {result.cancelled_count:,} cancelled; "
            f"wall time {format_secs(result.wall_s)}{faster}.")[:1000]
