"""What the bot knows about one run, and what its reporter workflow (bot.reporter) carries.

Pure dataclasses: they cross Temporal payload boundaries (the reporter's input, its activities'
inputs and results), and the workflow sandbox passes this module through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from workflows.model import FanoutRequest, FanoutResult, Progress

REPORTER_SUFFIX = "-slack"  # the reporter of run <id> is workflow <id>-slack ...
SCHEDULED_SUFFIX = "-run"  # ... but a schedule names its firings (the reporters): their runs are <firing>-run


def reporter_id(run_id: str) -> str:
    if run_id.endswith(SCHEDULED_SUFFIX):
        return run_id[: -len(SCHEDULED_SUFFIX)]
    return f"{run_id}{REPORTER_SUFFIX}"


def run_id_of(reporter: str) -> str:
    """The run a reporter reports: the inverse of ``reporter_id``."""
    if reporter.endswith(REPORTER_SUFFIX):
        return reporter[: -len(REPORTER_SUFFIX)]
    return f"{reporter}{SCHEDULED_SUFFIX}"


def ui_url(base: str, namespace: str, workflow_id: str) -> str:
    """The workflow in the Temporal Web UI."""
    return f"{base}/namespaces/{quote(namespace, safe='')}/workflows/{quote(workflow_id, safe='')}"


@dataclass(frozen=True)
class RunInfo:
    workflow_id: str  # the ParentWorkflow's id, also the run id users type: `/fanout status <id>`
    user_id: str  # Slack id of who started it
    channel_id: str
    text: str  # the command text as typed (user text: escape before showing)
    value_count: int
    batch_size: int
    child_workflow_count: int
    sequential: bool = False
    fail: str = "even"
    max_attempts: int = 1
    ui_url: str = ""  # the run in the Temporal Web UI
    thread_ts: str = ""  # the thread the summary goes to (the run's own message, or a retried run's)
    message_ts: str = ""  # the run's message, updated in place with progress
    retry_of: str = ""  # workflow id whose failed values this run retries
    in_slack: bool = True  # reported in Slack (False for runs started from the terminal CLI)
    team_id: str = ""  # Slack workspace
    approved_by: str = ""  # who approved it (runs that asked for an approval), and when (ISO time)
    approved_at: str = ""
    schedule_id: str = ""  # the schedule that fired it, if one did


def to_memo(run: RunInfo) -> dict[str, object]:
    """The run as kept in its reporter's memo: the audit trail (who, where, what), shown in the
    Temporal UI and read back by ``list``. Set at start; the reporter adds ``cancelled_by`` and, at
    close, its outcome."""
    memo: dict[str, object] = {
        "slack_team": run.team_id,
        "slack_user": run.user_id,
        "slack_channel": run.channel_id,
        "command_text": run.text[:2000],
        "value_count": run.value_count,
        "batch_size": run.batch_size,
        "child_workflow_count": run.child_workflow_count,
        "sequential": run.sequential,
        "fail": run.fail,
        "max_attempts": run.max_attempts,
        "slack": run.in_slack,
    }
    if run.thread_ts:
        memo["slack_thread_ts"] = run.thread_ts
    if run.retry_of:
        memo["retry_of"] = run.retry_of
    if run.schedule_id:
        memo["schedule_id"] = run.schedule_id
    return memo


def from_memo(workflow_id: str, memo: Mapping[str, Any], ui_url: str) -> RunInfo | None:
    """A run back from its reporter's memo; None unless it was started from Slack (runs started from the
    terminal CLI or the lab's `temporal workflow start` are not the bot's to report)."""
    message_ts = str(memo.get("slack_message_ts") or "")
    channel = str(memo.get("slack_channel") or "")
    if not channel or not memo.get("slack", False):
        return None
    return RunInfo(
        workflow_id=workflow_id,
        user_id=str(memo.get("slack_user", "")),
        channel_id=channel,
        text=str(memo.get("command_text", "")),
        value_count=int(memo.get("value_count", 0)),
        batch_size=int(memo.get("batch_size", 1)),
        child_workflow_count=int(memo.get("child_workflow_count", 0)),
        sequential=bool(memo.get("sequential", False)),
        fail=str(memo.get("fail", "even")),
        max_attempts=int(memo.get("max_attempts", 1)),
        ui_url=ui_url,
        thread_ts=str(memo.get("slack_thread_ts") or message_ts),  # a retry's thread is set at start
        message_ts=message_ts,
        retry_of=str(memo.get("retry_of", "")),
        team_id=str(memo.get("slack_team", "")),
        schedule_id=str(memo.get("schedule_id", "")),
    )


# -- the reporter workflow's input and output ---------------------------------------------------------

@dataclass
class Approval:
    """A run that waits for someone other than its starter to approve it (``--approve``)."""

    timeout_s: float = 3600.0  # then it expires (``--approve-timeout``)
    approvers: list[str] = field(default_factory=list)  # Slack ids who may decide (FANOUT_APPROVERS); empty: anyone


@dataclass
class Decision:
    user_id: str
    approve: bool


@dataclass
class Step:
    """A run started by a Workflow Builder step ("Run a fan-out"), completed when the run's result is in."""

    function_execution_id: str


@dataclass
class ReportInput:
    """What ReporterWorkflow needs: where to report (in ``run``) and what to run. A schedule's firings get
    the same input each time, with ``run.workflow_id`` empty: each firing names its run after itself."""

    run: RunInfo
    request: FanoutRequest
    fanout_task_queue: str  # where the ParentWorkflow runs (worker.py's queue)
    progress_interval_s: float = 3.0  # the shortest spacing of progress edits (FANOUT_PROGRESS_INTERVAL)
    quota_id: str = ""  # the user's UserRunsWorkflow, told when this run stops counting
    approval: Approval | None = None
    ui_base: str = ""  # the Temporal UI's base URL, for a firing's run link
    step: Step | None = None


@dataclass
class ReportOutcome:
    status: str  # completed | cancelled | terminated | timed_out | failed | not_started
    message_ts: str = ""
    summary_ts: str = ""
    success_count: int = 0
    failure_count: int = 0
    total: int = 0
    stopped: str = ""  # why Slack reporting stopped early: a Slack error code, or "gave up after 24 h"


# -- activity inputs and results (bot.report) ---------------------------------------------------------

@dataclass
class PostRunMessage:
    run: RunInfo
    waiting_until: str = ""  # ISO time: the run waits for an approval until then (the message has Approve/Reject)
    approvers: list[str] = field(default_factory=list)


@dataclass
class EditProgress:
    run: RunInfo  # with message_ts
    started_at: float = 0.0  # when the run started (epoch s): elapsed time keeps moving between its tasks
    even_without_progress: bool = False  # edit even before the run answers its query (it was just approved)


@dataclass
class EditOutcome:
    progress: Progress | None  # what the edit showed (None: no progress to show yet)
    queue_wait_s: float  # how long the edit waited for Slack's budget: spaces the next one


@dataclass
class PostResult:
    run: RunInfo  # with message_ts and thread_ts
    result: FanoutResult


@dataclass
class NotifyStarter:
    run: RunInfo
    reason: str  # the Slack error that stopped the run's reporting


@dataclass
class CancelRun:
    user_id: str  # Slack id of who asked (checked by the bot before the update)


@dataclass
class StepOutcome:
    step: Step
    run: RunInfo
    result: FanoutResult | None  # None: the step failed before a run had a result
    error: str = ""
    summary_ts: str = ""  # the summary in the channel, which the step's outputs link to


@dataclass
class PauseSchedule:
    schedule_id: str
    reason: str

