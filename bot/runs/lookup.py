"""Finding runs in Temporal: one by id (status, cancel, retry, details) and the latest few (``list``), for a Slack
channel or for the terminal.

A run belongs to its channel. In a channel's scope, ``find_run`` accepts an id only when ``<id>-slack`` is a
ReporterWorkflow on this bot's task queue whose search attributes carry the caller's workspace and channel, and
``<id>`` is that reporter's child. Anything else — another channel's run, a shard or batch id, a workflow the
bot did not start — is "not found", so the answer reveals nothing and nothing is signalled, cancelled or
queried.

The terminal's scope is the namespace (its user can reach Temporal anyway): a run with a reporter (started from
Slack, waiting for an approval or not), or a ParentWorkflow at the top of its tree (started by the terminal CLI,
or by the lab's ``temporal workflow start``). Shards and batches are never runs. A run whose memo is not
/fanout's is found for status only (``by_fanout``): the bot acts only on workflows it started.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from bot.runs.info import RunInfo, from_memo, reporter_id, run_id_of, ui_url
from runtime import search_attributes as sa
from runtime.temporal import RPC_TIMEOUT
from workflows.model import FanoutResult, Progress

LIST_LIMIT = 10  # runs shown by `list`
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,200}")
REPORTER_TYPE, RUN_TYPE = "ReporterWorkflow", "ParentWorkflow"

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
class Scope:
    """Where runs are looked for: one Slack channel's (the bot's reporters, on its ``workflow_queue``, carrying
    its workspace and channel), or, with no channel, the terminal's: every run /fanout started."""

    workflow_queue: str = ""
    team_id: str = ""
    channel_id: str = ""

    @property
    def terminal(self) -> bool:
        return not self.channel_id


@dataclass(frozen=True)
class RunListing:
    """A run as ``list`` shows it (list_runs finds them)."""

    workflow_id: str
    status: str
    started_by: str
    channel_id: str
    text: str
    start_time_iso: str
    ui_url: str


@dataclass
class FoundRun:
    client: Client
    run: RunInfo  # who started it, where and with what text (empty for a run /fanout did not start)
    reporter: WorkflowHandle[Any, Any] | None  # None: started from the terminal, reported nowhere
    reporter_desc: WorkflowExecutionDescription | None
    run_desc: WorkflowExecutionDescription | None  # None: it has not started (it waits for an approval), or never will
    by_fanout: bool = True  # False: a ParentWorkflow started by other means (the lab's `temporal workflow start`)

    @property
    def run_id(self) -> str:
        return self.run.workflow_id

    @property
    def reporter_running(self) -> bool:
        return self.reporter_desc is not None and self.reporter_desc.status == WorkflowExecutionStatus.RUNNING

    @property
    def reported_status(self) -> str:
        """The reporter's FanoutStatus ("" without a reporter)."""
        return (self.reporter_desc.typed_search_attributes.get(sa.STATUS) or "") if self.reporter_desc else ""

    @property
    def waiting(self) -> bool:
        """Waiting for an approval: its reporter has not started it yet."""
        return self.reporter_running and self.reported_status == "waiting"

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
        reported = self.reported_status
        if reported and reported != "running":
            return REPORTED_STATUS.get(reported, reported)
        if self.run_status is None:
            return "Starting"
        name = STATUS_NAMES.get(self.run_status, "Unknown")
        reporting = self.reporter is not None and self.run_status != WorkflowExecutionStatus.RUNNING
        return f"{name} (reporting)" if reporting else name

    async def progress(self) -> Progress:
        handle = self.client.get_workflow_handle(self.run_id)
        return await handle.query("progress", result_type=Progress, rpc_timeout=RPC_TIMEOUT)

    async def result(self) -> FanoutResult:
        handle = self.client.get_workflow_handle(self.run_id, result_type=FanoutResult)
        return await handle.result(rpc_timeout=RPC_TIMEOUT)


async def _describe(handle: WorkflowHandle[Any, Any]) -> WorkflowExecutionDescription | None:
    try:
        return await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def _ours(desc: WorkflowExecutionDescription, scope: Scope) -> bool:
    """Whether a reporter is in scope: the channel's (on the bot's queue, with its workspace and channel), or for
    the terminal any the bot started (it carries the bot's search attributes)."""
    attrs = desc.typed_search_attributes
    if desc.workflow_type != REPORTER_TYPE or not attrs.get(sa.TEAM):
        return False
    return scope.terminal or (desc.task_queue == scope.workflow_queue and attrs.get(sa.TEAM) == scope.team_id
                              and attrs.get(sa.CHANNEL) == scope.channel_id)


async def find_run(client: Client, run_id: str, scope: Scope, ui_base: str) -> FoundRun | None:
    """Run ``run_id`` if it is in ``scope``, else None (whatever the reason: see the module's docstring)."""
    if not _RUN_ID.fullmatch(run_id):
        return None
    link = ui_url(ui_base, client.namespace, run_id)
    reporter = client.get_workflow_handle(reporter_id(run_id))
    desc = await _describe(reporter)
    if desc is not None and _ours(desc, scope):
        run = from_memo(run_id, await desc.memo(), link)
        if run is None:
            return None
        run_desc = None
        if desc.typed_search_attributes.get(sa.STATUS) != "not_started":
            run_desc = await _describe(client.get_workflow_handle(run_id))
            if run_desc is not None and run_desc.parent_id != reporter.id:
                run_desc = None
        return FoundRun(client, run, reporter, desc, run_desc)
    if not scope.terminal:
        return None
    run_desc = await _describe(client.get_workflow_handle(run_id))
    if run_desc is None or run_desc.workflow_type != RUN_TYPE or run_desc.parent_id:
        return None
    run = from_memo(run_id, await run_desc.memo(), link)
    by_fanout = run is not None
    return FoundRun(client, run or RunInfo.unknown(run_id, link), None, None, run_desc, by_fanout=by_fanout)


def list_query(scope: Scope) -> str | None:
    """The visibility query for the runs of a scope (None for ids that are not Slack ids)."""
    if scope.terminal:
        return (f"WorkflowType IN ('{REPORTER_TYPE}','{RUN_TYPE}') AND ParentWorkflowId IS NULL")
    if not (sa.is_slack_id(scope.team_id) and sa.is_slack_id(scope.channel_id)) or "'" in scope.workflow_queue:
        return None
    return (f"WorkflowType = '{REPORTER_TYPE}' AND TaskQueue = '{scope.workflow_queue}' "
            f"AND {sa.TEAM.name} = '{scope.team_id}' AND {sa.CHANNEL.name} = '{scope.channel_id}'")


async def list_runs(client: Client, scope: Scope, ui_base: str, limit: int = LIST_LIMIT) -> list[RunListing]:
    """The scope's most recent runs, newest first: one visibility query, however quiet the channel."""
    query = list_query(scope)
    if query is None:
        return []
    return [await _listing(client, wf, ui_base)
            async for wf in client.list_workflows(query, limit=limit, rpc_timeout=RPC_TIMEOUT)]


async def _listing(client: Client, wf: WorkflowExecution, ui_base: str) -> RunListing:
    memo = await wf.memo()
    if wf.workflow_type == REPORTER_TYPE:
        run_id = run_id_of(wf.id)
        reported = wf.typed_search_attributes.get(sa.STATUS) or "running"
        status = REPORTED_STATUS.get(reported, reported)
    else:
        run_id, status = wf.id, STATUS_NAMES.get(wf.status, "Unknown") if wf.status else "Unknown"
    return RunListing(
        workflow_id=run_id, status=status, started_by=str(memo.get("slack_user", "")),
        channel_id=str(memo.get("slack_channel", "")), text=str(memo.get("command_text", "")),
        start_time_iso=wf.start_time.isoformat(timespec="seconds"), ui_url=ui_url(ui_base, client.namespace, run_id))
