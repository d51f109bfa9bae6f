"""What the reporter workflow (bot.reporting.reporter) is given, carries and returns, and its activities' inputs and
results (bot.reporting.activities). Pure dataclasses: they cross Temporal payload boundaries, and the workflow
sandbox passes this module through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.runs.info import RunInfo
from workflows.model import FanoutRequest, FanoutResult, Progress


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


# -- activity inputs and results -----------------------------------------------------------------------

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

