"""A run as the bot knows it: its ids (the run's, its reporter's), its Temporal UI link, and RunInfo, who started it,
where and with what text, as kept in its reporter's memo. Pure dataclasses: RunInfo crosses Temporal payload
boundaries, and the workflow sandbox passes this module through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

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

    @classmethod
    def unknown(cls, workflow_id: str, ui_url: str) -> RunInfo:
        """A run /fanout did not start (no memo of ours): its id and link only."""
        return cls(workflow_id, user_id="", channel_id="", text="", value_count=0, batch_size=1,
                   child_workflow_count=0, ui_url=ui_url, in_slack=False)


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
    """A run back from the memo /fanout gave it (its reporter's, or a terminal run's ParentWorkflow's, whose
    ``in_slack`` is False); None for a memo /fanout did not write (the lab's `temporal workflow start`)."""
    message_ts = str(memo.get("slack_message_ts") or "")
    channel = str(memo.get("slack_channel") or "")
    if not channel or "slack" not in memo:
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
        in_slack=bool(memo["slack"]),
    )
