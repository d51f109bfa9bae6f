"""Start: a parsed request -> a running reporter workflow, which starts the run (and nothing else).

The run id users see is the ParentWorkflow's id; its reporter is ``<run id>-slack``. When Slack
gives a ``trigger_id`` the id is derived from it (from the view for a form, whose submissions each
carry a new trigger), so a command delivered twice starts one run: Temporal refuses the second
start of the same id, which makes it the natural place to deduplicate. The user's slot under the
per-user cap (bot.quota) is taken first, in the same request.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from temporalio.client import Client, WithStartWorkflowOperation, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from bot.quota import Acquire, Held, UserRunsWorkflow, quota_id
from bot.reporting.payloads import Approval, ReportInput, Step
from bot.reporting.reporter import ReporterWorkflow
from bot.runs.info import RunInfo, reporter_id, to_memo, ui_url
from runtime import search_attributes as sa
from runtime.temporal import RPC_TIMEOUT
from workflows.model import FanoutRequest, FanoutResult
from workflows.parent import ParentWorkflow
from workflows.values import count_values, plan_batch_size

# A start that failed with one of these may have landed all the same ...
MAYBE_STARTED = frozenset({RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.CANCELLED,
                           RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL})
# ... unless no connection was ever made: then the request never left.
NEVER_CONNECTED = ("tcp connect error", "Connection refused", "error trying to connect", "dns error")


def may_have_started(err: BaseException) -> bool:
    """Whether a failed start (or slot) request may have landed on the server all the same."""
    if isinstance(err, TimeoutError):
        return True
    if not isinstance(err, RPCError) or err.status not in MAYBE_STARTED:
        return False
    return not any(sign in err.message for sign in NEVER_CONNECTED)


@dataclass(frozen=True)
class Invocation:
    """The one action that starts a run — a command, a click, a form, a step, a terminal line: who, deployment, with
    what text. Kept in the run's memo and search attributes; its trigger names the run."""

    user_id: str
    channel_id: str
    text: str
    trigger_id: str = ""  # or any key unique to one user action (a view's id for a form)
    team_id: str = ""
    thread_ts: str = ""
    retry_of: str = ""
    slack: bool = True  # False for the terminal CLI: no Slack message to report in


@dataclass(frozen=True)
class Deployment:
    """This bot as Temporal sees it: its queues, the Web UI its links go to, and the settings a start needs."""

    workflow_queue: str  # the bot's (reporter's) task queue, bot.queues.workflow_queue
    fanout_queue: str  # worker.py's queue, where the ParentWorkflow runs
    ui_base: str
    progress_interval_s: float = 3.0
    max_runs_per_user: int = 0  # 0: no cap


class OverCap(Exception):
    """The user has ``cap`` runs going already (listed in ``runs``)."""

    def __init__(self, runs: list[str]) -> None:
        super().__init__(", ".join(runs))
        self.runs = runs


def run_id_for(invocation: Invocation) -> str:
    if invocation.retry_of:  # one retry per run: a double-clicked "Retry failed" starts one run
        return f"{invocation.retry_of}-r"
    if invocation.trigger_id:
        digest = hashlib.sha256(f"{invocation.team_id}:{invocation.trigger_id}".encode()).hexdigest()
        return f"fanout-{digest[:12]}"
    return f"fanout-{uuid.uuid4().hex[:12]}"


def run_info(request: FanoutRequest, invocation: Invocation, ui: str, workflow_id: str) -> RunInfo:
    value_count = count_values(request.ranges)
    batch_size = plan_batch_size(value_count, request.batch_size)
    return RunInfo(
        workflow_id=workflow_id,
        user_id=invocation.user_id,
        channel_id=invocation.channel_id,
        text=invocation.text,
        value_count=value_count,
        batch_size=batch_size,
        child_workflow_count=-(-value_count // batch_size) if value_count else 0,
        sequential=request.sequential,
        fail=request.fail,
        max_attempts=request.max_attempts,
        ui_url=ui,
        thread_ts=invocation.thread_ts,
        retry_of=invocation.retry_of,
        in_slack=invocation.slack,
        team_id=invocation.team_id,
    )


async def take_slot(client: Client, deployment: Deployment, run: RunInfo) -> str:
    """The user's slot under the cap, for this run: the id of their UserRunsWorkflow ("" without a cap).
    Raises OverCap."""
    if deployment.max_runs_per_user <= 0 or not run.user_id:
        return ""
    quota = quota_id(deployment.workflow_queue, run.user_id)
    start = WithStartWorkflowOperation(
        UserRunsWorkflow.run, Held(), id=quota, task_queue=deployment.workflow_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    try:
        await client.execute_update_with_start_workflow(
            UserRunsWorkflow.acquire, Acquire(run.workflow_id, deployment.max_runs_per_user),
            start_workflow_operation=start, rpc_timeout=RPC_TIMEOUT)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "RunCap":
            raise OverCap([str(r) for r in (cause.details[0] if cause.details else [])]) from None
        raise
    return quota


async def start_reported(client: Client, request: FanoutRequest, invocation: Invocation, deployment: Deployment, *,
                         approval: Approval | None = None, step: Step | None = None) -> RunInfo | None:
    """Start the run and its reporter; None when this exact action already started one (a duplicate
    delivery). Raises OverCap, or the RPC's error (the slot is then given back)."""
    run_id = run_id_for(invocation)
    run = run_info(request, invocation, ui_url(deployment.ui_base, client.namespace, run_id), run_id)
    quota = await take_slot(client, deployment, run)
    attributes = sa.for_run(run.team_id, run.channel_id, run.user_id, "waiting" if approval else "running")
    try:
        await client.start_workflow(
            ReporterWorkflow.run,
            ReportInput(run, request, deployment.fanout_queue, deployment.progress_interval_s, quota_id=quota,
                        approval=approval, ui_base=deployment.ui_base, step=step),
            id=reporter_id(run_id), task_queue=deployment.workflow_queue, memo=to_memo(run),
            search_attributes=attributes, id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL, rpc_timeout=RPC_TIMEOUT)
    except WorkflowAlreadyStartedError:
        return None
    except RPCError as err:
        if quota and not may_have_started(err):  # surely not started: give the slot back
            await client.get_workflow_handle(quota).signal(UserRunsWorkflow.release, run_id, rpc_timeout=RPC_TIMEOUT)
        raise
    return run


async def start_unreported(client: Client, request: FanoutRequest, invocation: Invocation, *, task_queue: str,
                           ui_base: str) -> tuple[RunInfo, WorkflowHandle[ParentWorkflow, FanoutResult]]:
    """The terminal CLI's run: the ParentWorkflow alone, reported nowhere (the lab's own way)."""
    run_id = run_id_for(invocation)
    run = run_info(request, invocation, ui_url(ui_base, client.namespace, run_id), run_id)
    handle = await client.start_workflow(
        ParentWorkflow.run, request, id=run_id, task_queue=task_queue, memo=to_memo(run),
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, rpc_timeout=RPC_TIMEOUT)
    return run, handle
