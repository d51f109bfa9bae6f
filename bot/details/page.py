"""A run's page of the Details modal, read from Temporal within the cost bound: beside finding the run (bot.runs.lookup:
two describes) and its request (its first event, read alone), an ended run costs one result read (its counts, its
children or batches, its timeline), a live one a progress query and one visibility list. A finished run is never
queried: a query replays its whole history on a worker (1.5-2.7 s for 1,000 children), where its result is one read
(16 ms). A run that ended without a result (terminated, timed out) is listed from visibility, its counts from what
its reporter last saw."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from temporalio.client import WorkflowFailureError, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from bot.details.ended import ended_batches, ended_children, result_of
from bot.details.live import LiveRun
from bot.files.timeline import text_timeline
from bot.render.details import TIMELINE_WIDTH, Counts, Place, RunHeader, RunPage
from bot.runs.lookup import REPORTED_STATUS, FoundRun
from bot.runs.results import run_request
from runtime.temporal import RPC_TIMEOUT
from workflows.model import MAX_RESULT_BYTES, RESULT_BYTES_PER_VALUE, FanoutRequest
from workflows.values import batch_count, count_values, plan_shards, run_batch_size

log = logging.getLogger("fanout.bot")
NEVER_RAN = ("rejected", "expired", "withdrawn", "not_started")  # a reporter's statuses for a run that never started


def is_gone(found: FoundRun) -> bool:
    """The run ran, and retention has removed its history since (its reporter, which closes after it, is left)."""
    return (found.run_desc is None and found.reporter_desc is not None and not found.reporter_running
            and found.reported_status not in NEVER_RAN)


def _waiting_note(found: FoundRun) -> str:
    reported = found.reported_status
    if found.waiting:
        return "⏳ It waits for an approval: nothing has run yet. Its children show here once it is approved (Refresh)."
    if reported in ("rejected", "expired", "withdrawn"):
        return f"Nothing ran: it was {REPORTED_STATUS[reported].lower()} before it started."
    if reported == "not_started":
        return "It never started: its id is taken by another workflow."
    return "It is starting: its children show here in a moment (Refresh)."


def _shape(request: FanoutRequest, total: int) -> tuple[int, int]:
    """(values per child, shards) as ParentWorkflow plans the run."""
    size = run_batch_size(total, request.batch_size)
    if size <= 1:
        return 1, 0
    value_bytes = MAX_RESULT_BYTES if request.plugin else RESULT_BYTES_PER_VALUE
    return size, plan_shards(batch_count(total, size), size, value_bytes)


async def run_page(found: FoundRun, place: Place, now: datetime) -> RunPage:
    """The run's header, a page of its children or batches under the place's filter, and its timeline."""
    if found.run_desc is None:
        return RunPage(RunHeader(found.run, found.status_name, live=found.reporter_running,
                                 by_fanout=found.by_fanout, note=_waiting_note(found)), None)
    client, run_id = found.client, found.run_id
    request = await run_request(client, run_id)
    total = count_values(request.ranges)
    started = found.run_desc.start_time
    workflow_retries = request.plugin is None or not request.plugin.activity
    if found.has_result:
        raw: dict[str, Any] = await client.get_workflow_handle(run_id).result(rpc_timeout=RPC_TIMEOUT)  # untyped
        result = result_of(raw)
        status = "Cancelled" if found.reporter is None and result.status == "cancelled" else found.status_name
        header = RunHeader(found.run, status, False, found.by_fanout, started.isoformat(), result.wall_s, request,
                           batch_count(total, result.batch_size), result.batch_size, result.shard_count,
                           workflow_retries, Counts(result.total_children, result.success_count, result.failure_count,
                                                    0, result.cancelled_count))
        listing = (ended_batches(result, request.ranges, place) if result.batch_size > 1
                   else ended_children(raw, request.ranges, place))
        timeline = text_timeline(result, request.ranges, TIMELINE_WIDTH) if result.spans else ""
        return RunPage(header, listing, timeline)
    size, shards = _shape(request, total)
    children = batch_count(total, size)
    counts, note = await _counts(found, total)
    wall = ((found.run_desc.close_time or now) - started).total_seconds()
    header = RunHeader(found.run, found.status_name, found.run_running, found.by_fanout, started.isoformat(), wall,
                       request, children, size, shards, workflow_retries, counts, note)
    known = {"all": children}
    if size <= 1 and counts is not None and found.run_running:
        known.update(failed=counts.failed, running=counts.running)
    listing = await LiveRun(client, run_id, request, total, size, now, live=found.run_running).listing(place, known)
    return RunPage(header, listing)


async def _counts(found: FoundRun, total: int) -> tuple[Counts | None, str]:
    """A live run's counts from its progress query; a run that ended without a result, what its reporter saw last."""
    if found.run_running:
        try:
            p = await found.progress()
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError, WorkflowFailureError) as err:
            log.warning("progress of %s for its details: %s", found.run_id, err)  # the page says so, and goes on
            return None, f"progress unavailable: no worker answered its query ({type(err).__name__})"
        return Counts(p.total, p.succeeded, p.failed, p.running, p.cancelled), ""
    if found.reporter_desc is None:
        return None, ""
    memo = await found.reporter_desc.memo()
    if "success_count" not in memo:
        return None, ""
    succeeded, failed = int(memo["success_count"]), int(memo["failure_count"])
    total = int(memo.get("total", total))
    return (Counts(total, succeeded, failed, 0, max(total - succeeded - failed, 0)),
            "from its last progress: it ended without a result")
