"""What the bot knows about one run, from start to summary."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RunInfo:
    workflow_id: str  # also the run id users type: `/fanout status <id>`
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


def to_memo(run: RunInfo) -> dict[str, object]:
    """The run as kept in its workflow's memo: the audit trail (who, where, what), and what any bot
    replica needs to report the run after a restart. Set at start; the workflow adds
    ``slack_message_ts``/``slack_thread_ts`` once the run's message is posted, ``cancelled_by`` on cancel."""
    memo: dict[str, object] = {
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
    return memo


def from_memo(workflow_id: str, memo: Mapping[str, Any], ui_url: str) -> RunInfo | None:
    """The run back from its memo; None unless it was started from Slack (runs started from the
    terminal CLI or the lab's `temporal workflow start` are not the bot's to report). ``message_ts``
    is empty while the run's message is not recorded yet."""
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
    )
