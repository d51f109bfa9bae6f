"""Typed inputs and results shared by the workflows, the worker and the bot.

Everything here crosses a Temporal payload boundary, so it stays small and JSON-friendly:
values travel as inclusive ranges (``1-1000000`` is one ``ValueRange``), never as an
expanded list.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_TASK_QUEUE = "parent-and-child-task-queue"

# Per-value mode (one child workflow per value, the lab's model) up to this many values;
# above it each child takes a batch so that a run never has more child workflows than this.
# Temporal advises <= 1,000 children per parent; it keeps the parent's history near
# 4-6K events, far from the 51,200-event limit.
MAX_CHILD_WORKFLOWS = 1000
# Children pending at once per parent. Temporal refuses the 2,001st pending child and
# advises <= 500 concurrent operations per workflow.
MAX_PENDING_CHILDREN = 500
# The result's value lists are complete up to this many entries each; batched runs
# carry a sample and the full rows live in each BatchWorkflow's result.
RESULT_LIST_LIMIT = 1000


@dataclass
class ValueRange:
    """Inclusive range of integers; a single value is ``ValueRange(v, v)``."""

    start: int
    end: int


@dataclass
class FanoutRequest:
    """What to fan out and how. Built by the bot's parser; the lab's plain list also works."""

    ranges: list[ValueRange]
    fail: str = "even"  # even | odd | none | mod:N | rate:P (see workflows.rules)
    max_attempts: int = 1  # child retry policy; 1 = no retries, as in the lab
    delay_min_s: float = 0.0  # each child sleeps a random time in [min, max] seconds
    delay_max_s: float = 0.0
    sequential: bool = False
    batch_size: int = 0  # 0 = automatic (see workflows.plan)
    child_type: str = "double"


@dataclass
class ChildInput:
    value: int
    fail: str = "even"
    delay_min_s: float = 0.0
    delay_max_s: float = 0.0
    child_type: str = "double"


@dataclass
class ChildOutput:
    value: int
    result: int
    attempt: int = 1


@dataclass
class BatchInput:
    ranges: list[ValueRange]
    fail: str = "even"
    max_attempts: int = 1
    delay_min_s: float = 0.0
    delay_max_s: float = 0.0
    child_type: str = "double"


@dataclass
class BatchFailure:
    offset: int  # position of the value inside the batch
    error: str
    attempts: int = 1
    kind: str = "SimulatedFailure"


@dataclass
class BatchOutput:
    """Compact per-value outcome of one batch: ``results[i]`` is None where value i failed."""

    ranges: list[ValueRange]
    results: list[int | None]
    failures: list[BatchFailure]
    attempts: list[int] = field(default_factory=list)  # per value; empty when all were 1


@dataclass
class SuccessfulResult:
    value: int
    result: int
    attempts: int = 1


@dataclass
class FailedChild:
    value: int
    error: str  # the child's own message, e.g. "Simulated failure for value 2"
    type: str = "ApplicationError"  # class of the child's own error, as the lab documents
    attempts: int = 1


@dataclass
class ChildSpan:
    """One child workflow on the run's timeline: milliseconds since the parent started."""

    index: int
    start_ms: int
    end_ms: int
    status: str  # succeeded | failed | cancelled | mixed (a batch with some failures)
    attempts: int = 1
    values: int = 1


@dataclass
class SlackMessage:
    """The run's message in Slack (set by the bot after posting it)."""

    channel: str
    message_ts: str
    thread_ts: str


@dataclass
class Progress:
    total: int
    succeeded: int = 0
    failed: int = 0
    running: int = 0
    cancelled: int = 0
    elapsed_s: float = 0.0
    done: bool = False
    cancel_requested_by: str = ""

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.cancelled


@dataclass
class FanoutResult:
    """The lab's documented result structure, plus what the bot needs to report a run."""

    total_children: int
    successful_results: list[SuccessfulResult]
    failed_children: list[FailedChild]
    success_count: int
    failure_count: int
    success_rate: float
    cancelled_count: int = 0
    status: str = "completed"  # completed | cancelled
    cancelled_by: str = ""
    sequential: bool = False
    batch_size: int = 1
    child_workflow_count: int = 0
    wall_s: float = 0.0
    child_s_sum: float = 0.0  # sum of child durations: what one-after-another would cost
    results_complete: bool = True  # False when the lists above are a sample (batched runs)
    failure_groups: dict[str, int] = field(default_factory=dict)  # error kind -> count
    spans: list[ChildSpan] = field(default_factory=list)
