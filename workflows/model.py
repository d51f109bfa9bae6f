"""Typed inputs and results shared by the workflows, the worker and the bot.

Everything here crosses a Temporal payload boundary, so it stays small and JSON-friendly:
values travel as inclusive ranges (``1-1000000`` is one ``ValueRange``), never as an
expanded list, and batch results come back compact (see ``BatchOutput``).

The shape of a run (see workflows.values.plan_batch_size and workflows.parent):
- up to MAX_CHILD_WORKFLOWS values: one child workflow per value (the lab's model);
- above it: about BATCH_TARGET BatchWorkflow children of up to MAX_BATCH_SIZE values each, at most
  MAX_CHILD_WORKFLOWS of them per run;
- more batches than one workflow's history should hold (workflows.values.batches_per_workflow: at most
  BATCHES_PER_WORKFLOW, fewer for large batches): the run's ParentWorkflow starts shards (the same
  ParentWorkflow type, with ``FanoutRequest.shard`` set), each owning that many batches, so no
  workflow's history holds more than HISTORY_BUDGET_BYTES of batch results even at worst.

These are constants, not configuration: a running workflow replays with the values it started with.
"""

# No `from __future__ import annotations`: the payload converter reads these dataclasses' field types
# (typing.get_type_hints) for every value it decodes, and string annotations are compiled and evaluated
# again each time (measured: a ChildInput 37 -> 14 us, a FanoutRequest 117 -> 52 us).

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

DEFAULT_TASK_QUEUE = "parent-and-child-task-queue"

# Per-value mode (one child workflow per value, the lab's model) up to this many values;
# above it each child takes a batch, and a run never has more batch children than this.
# Temporal advises <= 1,000 children per parent; 1,000 per-value children put ~3,600 events
# (~0.7 MB) in the parent's history, far from the 51,200-event / 50 MB limits.
MAX_CHILD_WORKFLOWS = 1000
# Children pending at once per workflow. Temporal refuses the 2,001st pending child and
# advises <= 500 concurrent operations per workflow.
MAX_PENDING_CHILDREN = 500
# Child starts in flight at once per workflow (initiated, not yet started). The server creates
# children at its own pace (~40/s on the dev server here), and a child cannot be cancelled before it
# has started: with every start initiated at once, a cancel waited behind hundreds of starts, each
# child then needing its own cancel (300 children cancelled 0.2 s in: up to 296 ran to the end).
# With this many in flight a cancel finds few starts to wait for, the rest are never initiated,
# and the server is still kept busy (measured: no loss of throughput; see workflows.parent).
MAX_STARTING_CHILDREN = 50
# The workflow type of each lab child type (workflows.child, workflows.square), by name: a parent starts its
# children by name, so
# its sandbox never imports their modules (and their @workflow.defn) for every run.
CHILD_WORKFLOW_TYPES = {"double": "ChildWorkflow", "square": "SquareChildWorkflow"}
# Batches a run is split into when the plan is automatic: progress moves in 1% steps from batch results
# alone (and finer while batches with a delay report as they go, BATCH_PROGRESS_STEPS_MAX).
BATCH_TARGET = 100
# Values per batch child at most. A child workflow costs the dev server ~12 ms whatever it does, a value
# inside a batch ~1 us of worker CPU, so fewer, larger batches are faster: 1,000,000 values are 100
# batches of 10,000. The payload sets the cap: a batch's result is one JSON number per value plus its
# failures, ~100 KB for 10,000 values with even values failing and RESULT_BYTES_PER_VALUE at worst
# (25-digit squares, retries), so 280 KB — a seventh of Temporal's 2 MB payload limit.
MAX_BATCH_SIZE = 10_000
RESULT_BYTES_PER_VALUE = 28
MAX_RESULT_BYTES = 1000  # per value of a team's child type (workflows.plugin): 1,000 results stay well inside 2 MB
# Batch children per workflow (the root's own, or one shard's) at most. Each batch result lands in the
# history of the workflow that started it, so a workflow owns at most HISTORY_BUDGET_BYTES of them at
# worst (batches of 10,000: 25 per workflow, ~2.6 MB typical) and never more than BATCHES_PER_WORKFLOW;
# runs with more batches are split into shards. (Up to 2,000 values per batch this is 100 batches, as
# it was before larger batches existed: histories recorded then replay with the same shards.)
BATCHES_PER_WORKFLOW = 100
HISTORY_BUDGET_BYTES = 7_000_000
# Per-value runs list every value (complete); batched runs carry samples of this size and
# the full rows live in each BatchWorkflow's result (read back by bot.runs.results.value_rows).
RESULT_LIST_LIMIT = MAX_CHILD_WORKFLOWS
RESULT_SAMPLE = 100
# A shard tells the root its cumulative counts at most this often (a durable timer between
# signals), so the root's progress query moves while the shards run.
SHARD_PROGRESS_INTERVAL_S = 1.5
# A batch whose delay is long enough works through its values in up to this many steps, one every
# SHARD_PROGRESS_INTERVAL_S at least, and tells its parent its counts after each: the bar moves while
# batches sleep, not only when they finish. A batch with retries tells it after each round.
BATCH_PROGRESS_STEPS_MAX = 10
# Backoff between attempts, the same for a child's retry policy and a batch's retry rounds.
RETRY_INITIAL_INTERVAL = timedelta(seconds=1)
RETRY_BACKOFF = 2.0


@dataclass
class ValueRange:
    """Inclusive range of integers; a single value is ``ValueRange(v, v)``."""

    start: int
    end: int


@dataclass
class ShardSpec:
    """Marks a ParentWorkflow as one shard of a larger run (set by the run's root only).

    The shard's ``FanoutRequest.ranges`` are its own slice of the run's values; its batches
    keep the run-wide ids ``{root_id}-b{global index}`` so any batch's result can be read
    knowing only the run id.
    """

    root_id: str  # the run's (root ParentWorkflow's) workflow id; progress signals go there
    index: int  # this shard's number; its workflow id is f"{root_id}-s{index}"
    first_batch: int  # global index of the shard's first batch
    batch_size: int
    root_started_ms: int  # the root's start (epoch ms): spans share the root's clock


@dataclass
class ChildPlugin:
    """Where a team's own child type runs (workflows.plugin): its task queue, served only by workers that
    have the plugin, and the workflow type started per value there (the plugin's own workflow, or
    PluginChildWorkflow running the plugin's ``activity``)."""

    task_queue: str
    workflow: str
    activity: str = ""


@dataclass
class FanoutRequest:
    """What to fan out and how. Built by the bot's parser; the lab's plain list also works."""

    ranges: list[ValueRange]
    fail: str = "even"  # even | odd | none | mod:N | rate:P (see workflows.rules)
    max_attempts: int = 1  # child retry policy; 1 = no retries, as in the lab
    delay_min_s: float = 0.0  # each child sleeps a random time in [min, max] seconds
    delay_max_s: float = 0.0
    sequential: bool = False
    batch_size: int = 0  # 0 = automatic (see workflows.values.plan_batch_size)
    child_type: str = "double"
    shard: ShardSpec | None = None  # set only on the shard workflows a large run starts
    plugin: ChildPlugin | None = None  # a team's own child type (child_type names it), not the lab's


@dataclass
class ShardProgress:
    """A shard's cumulative counts, signalled to the root (``ParentWorkflow.shard_progress``)."""

    shard: int
    succeeded: int
    failed: int
    running: int


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
    result: Any  # an int for the lab's children; JSON (workflows.plugin.MAX_RESULT_BYTES) for a team's
    attempt: int = 1


@dataclass
class PluginBatchInput:
    """PluginBatchWorkflow's input: a batch of values for a team's activity (``index``: the run-wide batch)."""

    ranges: list[ValueRange]
    activity: str
    max_attempts: int = 1
    index: int = -1


@dataclass
class PluginInput:
    """PluginChildWorkflow's input: one value, the plugin's activity, and attempts as ``--retries`` says."""

    value: int
    activity: str
    max_attempts: int = 1


@dataclass
class BatchInput:
    ranges: list[ValueRange]
    fail: str = "even"
    max_attempts: int = 1
    delay_min_s: float = 0.0
    delay_max_s: float = 0.0
    child_type: str = "double"
    index: int = -1  # the batch's global index (its id's -b<index>); -1: started before batches reported progress


@dataclass
class BatchProgress:
    """A running batch's counts of values done for good, signalled to its parent
    (``ParentWorkflow.batch_progress``); replaced by the batch's result when it finishes."""

    index: int  # global batch index
    succeeded: int
    failed: int


@dataclass
class BatchOutput:
    """Compact per-value outcome of one batch (values in the order of its input ranges).

    ``results[i]`` is value i's result, or None when it failed or was cancelled. Each failure
    is ``[offset, kind index, attempts]``; its message is ``templates[kinds[kind index]]``
    with ``{value}`` filled in (workflows.rules.failure_message) — the batch's own messages,
    not repeated per value. A 2,000-value batch is ~10-40 KB, far under the 512 KiB warning.
    """

    results: list[int | None]
    failures: list[list[int]] = field(default_factory=list)  # [offset, kind index, attempts]
    kinds: list[str] = field(default_factory=list)  # error kinds (the ApplicationError types)
    templates: dict[str, str] = field(default_factory=dict)  # kind -> message template
    attempts: list[int] = field(default_factory=list)  # per value; empty when all were 1
    cancelled: list[int] = field(default_factory=list)  # offsets cancelled while awaiting a retry
    messages: list[str] = field(default_factory=list)  # a team's batch: each failure's own message


@dataclass
class SuccessfulResult:
    value: int
    result: Any  # see ChildOutput.result
    attempts: int = 1


@dataclass
class FailedChild:
    value: int
    error: str  # the child's own message, e.g. "Simulated failure for value 2"
    type: str = "ApplicationError"  # class of the child's own error, as the lab documents
    attempts: int = 1
    kind: str = ""  # the error's type (ApplicationError.type), e.g. "SimulatedFailure"


@dataclass
class ChildSpan:
    """One child workflow on the run's timeline: milliseconds since the run (root) started.

    ``index`` is the value's position (per-value runs) or the batch's global index. ``succeeded`` and ``failed``
    count its values that did (the rest were cancelled): a batch's counts, which its result alone held before; in
    results from before they were recorded both are 0, and only ``status`` tells."""

    index: int
    start_ms: int
    end_ms: int
    status: str  # succeeded | failed | cancelled | mixed (a batch with mixed outcomes)
    attempts: int = 1
    values: int = 1
    succeeded: int = 0
    failed: int = 0


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
    """The lab's documented result structure, plus what the bot needs to report a run.

    Per-value runs list every value. Batched runs list samples (the first RESULT_SAMPLE
    successes and failures in value order; ``results_complete`` says whether they are all);
    the counts and ``failure_groups`` are always exact.
    """

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
    child_workflow_count: int = 0  # value or batch children that ran (shards not included)
    wall_s: float = 0.0
    child_s_sum: float = 0.0  # sum of child durations: what one-after-another would cost
    results_complete: bool = True  # False when the lists above are a sample (batched runs)
    failure_groups: dict[str, int] = field(default_factory=dict)  # error kind -> count
    spans: list[ChildSpan] = field(default_factory=list)
    shard_count: int = 0  # shard workflows the run was split into (0: the root ran every child)
