"""What the bot knows about one run, from start to summary."""

from __future__ import annotations

from dataclasses import dataclass


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
