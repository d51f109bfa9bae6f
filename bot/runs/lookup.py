"""Finding a channel's runs in Temporal: by id for status, cancel and retry; all of them for ``list``.

A run belongs to its channel. ``find_run`` accepts an id only when ``<id>-slack`` is a
ReporterWorkflow on this bot's task queue whose search attributes carry the caller's workspace and
channel, and ``<id>`` is that reporter's child. Anything else — another
channel's run, a shard or batch id, a workflow the bot did not start — is "not found", so the
answer reveals nothing and nothing is signalled, cancelled or queried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from bot.runs.info import RunInfo, from_memo, reporter_id, run_id_of, ui_url
from runtime import search_attributes as sa
from workflows.model import FanoutResult, Progress

RPC_TIMEOUT = timedelta(seconds=2)
LIST_LIMIT = 10  # runs shown by `/fanout list`
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,200}")

STATUS_NAMES = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.CANCELED: "Cancelled",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.TIMED_OUT: "Timed out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "Continued as new",
}
# The reporter's FanoutStatus, as users read it.
REPORTED_STATUS = {"running": "Running", "completed": "Completed", "cancelled": "Cancelled",
                   "terminated": "Terminated", "timed_out": "Timed out", "failed": "Failed",
                   "canceled": "Cancelled in Temporal", "not_started": "Not started",
                   "waiting": "Waiting for approval", "rejected": "Rejected", "expired": "Expired",
                   "withdrawn": "Withdrawn"}


@dataclass(frozen=True)
class RunListing:
    """A run as `/fanout list` shows it (list_channel_runs finds them)."""

    workflow_id: str
    status: str
    started_by: str
    text: str
    start_time_iso: str
    ui_url: str


@dataclass
class FoundRun:
    client: Client
    reporter: WorkflowHandle[Any, Any]
    reporter_desc: WorkflowExecutionDescription
    run: RunInfo
    run_desc: WorkflowExecutionDescription | None  # None: the run never started

    @property
    def reporter_running(self) -> bool:
        return self.reporter_desc.status == WorkflowExecutionStatus.RUNNING

    @property
    def waiting(self) -> bool:
        """Waiting for an approval: its reporter has not started it yet."""
        return self.reporter_running and self.reporter_desc.typed_search_attributes.get(sa.STATUS) == "waiting"

    @property
    def run_status(self) -> WorkflowExecutionStatus | None:
        return self.run_desc.status if self.run_desc else None

    @property
    def run_running(self) -> bool:
        return self.run_status == WorkflowExecutionStatus.RUNNING

    @property
    def has_result(self) -> bool:
        return self.run_status == WorkflowExecutionStatus.COMPLETED

    @property
    def started_at(self) -> datetime | None:
        return self.run_desc.start_time if self.run_desc else None

    @property
    def status_name(self) -> str:
        reported = self.reporter_desc.typed_search_attributes.get(sa.STATUS) or ""
        if reported and reported != "running":
            return REPORTED_STATUS.get(reported, reported)
        if self.run_status is None:
            return "Starting"
        name = STATUS_NAMES.get(self.run_status, "Unknown")
        return f"{name} (reporting)" if self.run_status != WorkflowExecutionStatus.RUNNING else name

    async def progress(self) -> Progress:
        handle = self.client.get_workflow_handle(self.run.workflow_id)
        return await handle.query("progress", result_type=Progress, rpc_timeout=RPC_TIMEOUT)

    async def result(self) -> FanoutResult:
        handle = self.client.get_workflow_handle(self.run.workflow_id, result_type=FanoutResult)
        return await handle.result(rpc_timeout=RPC_TIMEOUT)


def _belongs(desc: WorkflowExecutionDescription, team_id: str, channel_id: str, workflow_queue: str) -> bool:
    attrs = desc.typed_search_attributes
    return (desc.workflow_type == "ReporterWorkflow" and desc.task_queue == workflow_queue
            and attrs.get(sa.TEAM) == team_id and attrs.get(sa.CHANNEL) == channel_id)


async def _describe(handle: WorkflowHandle) -> WorkflowExecutionDescription | None:  # type: ignore[type-arg]
    try:
        return await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def find_run(client: Client, run_id: str, team_id: str, channel_id: str, *, workflow_queue: str,
                   ui_base: str) -> FoundRun | None:
    """This channel's run ``run_id``, or None (whatever the reason: see the module's docstring)."""
    if not _RUN_ID.fullmatch(run_id):
        return None
    reporter = client.get_workflow_handle(reporter_id(run_id))
    desc = await _describe(reporter)
    if desc is None or not _belongs(desc, team_id, channel_id, workflow_queue):
        return None
    memo = await desc.memo()
    run = from_memo(run_id, memo, ui_url(ui_base, client.namespace, run_id))
    if run is None:
        return None
    run_desc = None
    if desc.typed_search_attributes.get(sa.STATUS) != "not_started":
        run_desc = await _describe(client.get_workflow_handle(run_id))
        if run_desc is not None and run_desc.parent_id != reporter.id:
            run_desc = None
    return FoundRun(client, reporter, desc, run, run_desc)


def channel_query(team_id: str, channel_id: str, workflow_queue: str) -> str | None:
    """The visibility query for a channel's runs (None for ids that are not Slack ids)."""
    if not (sa.is_slack_id(team_id) and sa.is_slack_id(channel_id)) or "'" in workflow_queue:
        return None
    return (f"WorkflowType = 'ReporterWorkflow' AND TaskQueue = '{workflow_queue}' "
            f"AND {sa.TEAM.name} = '{team_id}' AND {sa.CHANNEL.name} = '{channel_id}'")


async def list_channel_runs(client: Client, team_id: str, channel_id: str, *, workflow_queue: str, ui_base: str,
                            limit: int = LIST_LIMIT) -> list[RunListing]:
    """The channel's most recent runs, newest first: one visibility query, however quiet the channel."""
    query = channel_query(team_id, channel_id, workflow_queue)
    if query is None:
        return []
    listings: list[RunListing] = []
    async for wf in client.list_workflows(query, limit=limit, rpc_timeout=RPC_TIMEOUT):
        memo = await wf.memo()
        run_id = run_id_of(wf.id)
        reported = wf.typed_search_attributes.get(sa.STATUS) or "running"
        listings.append(RunListing(
            workflow_id=run_id,
            status=REPORTED_STATUS.get(reported, reported),
            started_by=str(memo.get("slack_user", "")),
            text=str(memo.get("command_text", "")),
            start_time_iso=wf.start_time.isoformat(timespec="seconds"),
            ui_url=ui_url(ui_base, client.namespace, run_id),
        ))
    return listings
