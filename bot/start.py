"""Start: a parsed request -> a running ParentWorkflow (and nothing else).

The workflow id doubles as the run id users see. When Slack gives a ``trigger_id`` the id is
derived from it, so a command delivered twice starts one run: Temporal refuses the second
start of the same id, which makes it the natural place to deduplicate.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from bot.runs import RunInfo, to_memo
from workflows.model import FanoutRequest, FanoutResult
from workflows.parent import ParentWorkflow
from workflows.values import count_values, plan_batch_size

START_TIMEOUT = timedelta(seconds=2)  # well inside Slack's 3 s, so an outage gets a prompt answer


@dataclass(frozen=True)
class Origin:
    """Where a run comes from in Slack: kept in the workflow's memo (audit, recovery)."""

    user_id: str
    channel_id: str
    text: str
    trigger_id: str = ""
    team_id: str = ""
    thread_ts: str = ""
    retry_of: str = ""
    slack: bool = True  # False for the terminal CLI: no Slack message to report in


def run_id_for(origin: Origin) -> str:
    if origin.retry_of:  # one retry per run: a double-clicked "Retry failed" starts one run
        return f"{origin.retry_of}-r"
    if origin.trigger_id:
        digest = hashlib.sha256(f"{origin.team_id}:{origin.trigger_id}".encode()).hexdigest()
        return f"fanout-{digest[:12]}"
    return f"fanout-{uuid.uuid4().hex[:12]}"


def ui_url(base: str, namespace: str, workflow_id: str) -> str:
    return f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


async def start_run(
    client: Client,
    request: FanoutRequest,
    origin: Origin,
    *,
    task_queue: str,
    ui_base: str,
) -> tuple[RunInfo, WorkflowHandle[ParentWorkflow, FanoutResult]] | None:
    """Start the run; None when this exact command already started one (a duplicate delivery)."""
    value_count = count_values(request.ranges)
    batch_size = plan_batch_size(value_count, request.batch_size)
    workflow_id = run_id_for(origin)
    run = RunInfo(
        workflow_id=workflow_id,
        user_id=origin.user_id,
        channel_id=origin.channel_id,
        text=origin.text,
        value_count=value_count,
        batch_size=batch_size,
        child_workflow_count=-(-value_count // batch_size) if value_count else 0,
        sequential=request.sequential,
        fail=request.fail,
        max_attempts=request.max_attempts,
        ui_url=ui_url(ui_base, client.namespace, workflow_id),
        thread_ts=origin.thread_ts,
        retry_of=origin.retry_of,
        in_slack=origin.slack,
    )
    try:
        handle = await client.start_workflow(
            ParentWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            memo=to_memo(run),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            rpc_timeout=START_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return None
    return run, handle
