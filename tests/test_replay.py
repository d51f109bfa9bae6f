"""Stored histories of every workflow shape replay against today's workflow code.

A change that would break running workflows (non-determinism) fails here; guard such changes with
`workflow.patched()`. Record new shapes with `python -m tests.histories.capture`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from bot.workers import BOT_WORKFLOW_RUNNER, BOT_WORKFLOWS
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS
from workflows.model import MAX_STARTING_CHILDREN
from workflows.plugin import PluginBatchWorkflow, PluginChildWorkflow

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_shape_has_a_history() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"lab-list", "failures-retries", "sequential-delay", "cancelled-starting", "batched",
            "sharded", "child-failed", "child-square-delay",
            "child-cancelled", "batch", "shard", "starts-bounded", "cancelled-starts-bounded",
            "reporter", "reporter-unpostable", "reporter-cancelled", "reporter-terminated",
            "user-runs", "reporter-home-and-stats", "home", "daily-stats", "reporter-approved", "reporter-rejected",
            "reporter-expired", "reporter-withdrawn", "reporter-scheduled", "reporter-step", "plugin-values",
            "plugin-batched", "plugin-child-failed", "plugin-batch", "batched-10000", "batch-10000", "sharded-25",
            "shard-25", "batched-steps", "batch-steps", "cancelled-steps", "batch-cancelled-steps", "batched-retries",
            "batch-retries", "values-unmarked", "child-failed-first-attempt", "reporter-small-run",
            "reporter-pictured", "cancelled-by-signal"} <= names


def patches(name: str) -> set[str]:
    path = Path(__file__).parent / "histories" / f"{name}.json"
    history = WorkflowHistory.from_json(name, path.read_text())
    return {json.loads(e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data)["id"]
            for e in history.events if e.HasField("marker_recorded_event_attributes")}


def events(name: str) -> list:  # type: ignore[type-arg]
    path = Path(__file__).parent / "histories" / f"{name}.json"
    return list(WorkflowHistory.from_json(name, path.read_text()).events)


def count(name: str, attributes: str) -> int:
    return sum(e.HasField(attributes) for e in events(name))


def test_histories_of_batches_of_10000_and_batch_progress() -> None:
    # The shapes of batches of up to 10,000 ("batches-of-10000": runs whose plan changed) and of batches that
    # report to their parent ("batch-progress"); histories from before either (batched, batch, sharded,
    # shard) have neither marker, and replay too.
    for name in ("batched-10000", "sharded-25", "batched-steps", "cancelled-steps"):
        assert "batches-of-10000" in patches(name), name
    for name in ("batch-steps", "batch-cancelled-steps", "batch-retries"):
        assert "batch-progress" in patches(name), name
    for name in ("batched", "batch", "sharded", "shard"):
        assert not {"batches-of-10000", "batch-progress"} & patches(name), name
    [started] = [e for e in events("batch-10000") if e.HasField("workflow_execution_started_event_attributes")]
    [payload] = started.workflow_execution_started_event_attributes.input.payloads
    assert json.loads(payload.data)["ranges"] == [{"start": 1, "end": 10_000}]  # one batch of 10,000 values
    assert count("sharded-25", "start_child_workflow_execution_initiated_event_attributes") == 2  # 2 shards
    assert count("shard-25", "start_child_workflow_execution_initiated_event_attributes") == 25  # of 25 batches
    # 3 steps of 1.5 s, a report after the first two; cancelled after one step: the second timer cancelled.
    assert count("batch-steps", "timer_started_event_attributes") == 3
    assert count("batch-steps", "signal_external_workflow_execution_initiated_event_attributes") == 2
    assert count("batch-cancelled-steps", "timer_canceled_event_attributes") == 1
    assert count("batch-retries", "signal_external_workflow_execution_initiated_event_attributes") == 2


def test_reporter_histories_from_before_and_after_the_home_patch() -> None:
    from bot.reporting.reporter import HOME_AND_STATS

    assert HOME_AND_STATS not in patches("reporter") and HOME_AND_STATS in patches("reporter-home-and-stats")


def scheduled(name: str) -> list[tuple[str, str]]:
    """(activity type, fairness key) of each activity the history scheduled."""
    return [(e.activity_task_scheduled_event_attributes.activity_type.name,
             e.activity_task_scheduled_event_attributes.priority.fairness_key)
            for e in events(name) if e.HasField("activity_task_scheduled_event_attributes")]


def test_reporter_histories_from_before_and_after_release_at_summary_and_files_wanted() -> None:
    # Before: the quota released after the files, both uploads scheduled (each skipped itself when not wanted),
    # posts without a fairness key. After: released once the summary is out, only the wanted uploads, and each
    # post keyed by its channel. Both kinds replay.
    from bot.reporting.reporter import FILES_WANTED, RELEASE_AT_SUMMARY

    assert not {RELEASE_AT_SUMMARY, FILES_WANTED} & patches("reporter")
    assert {"upload_timeline", "upload_csv"} <= {kind for kind, _ in scheduled("reporter")}
    for name in ("reporter-small-run", "reporter-pictured"):
        assert {RELEASE_AT_SUMMARY, FILES_WANTED} <= patches(name), name
        posts = [key for kind, key in scheduled(name) if kind in ("post_run_message", "post_summary")]
        assert posts == ["C1", "C1"], name
    assert not {"upload_timeline", "upload_csv"} & {kind for kind, _ in scheduled("reporter-small-run")}
    assert [kind for kind, _ in scheduled("reporter-pictured") if kind.startswith("upload")] == ["upload_timeline"]


def starts_in_flight(name: str) -> tuple[int, bool]:
    """(most child starts initiated and not yet started, whether "bounded-child-starts" was patched in)."""
    path = Path(__file__).parent / "histories" / f"{name}.json"
    history = WorkflowHistory.from_json(name, path.read_text())
    in_flight, most, patched = 0, 0, False
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            patch = event.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
            patched = patched or json.loads(patch)["id"] == "bounded-child-starts"
        elif event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            in_flight += 1
            most = max(most, in_flight)
        elif (event.HasField("child_workflow_execution_started_event_attributes")
              or event.HasField("start_child_workflow_execution_failed_event_attributes")):
            in_flight -= 1
    return most, patched


def test_histories_of_both_start_shapes() -> None:
    # Before the patch a run initiated every start of its window in its first workflow task; after it,
    # at most MAX_STARTING_CHILDREN are in flight. Both shapes are stored, and both replay (below).
    assert starts_in_flight("cancelled-starting") == (100, False)
    assert starts_in_flight("starts-bounded") == (MAX_STARTING_CHILDREN, True)
    most, patched = starts_in_flight("cancelled-starts-bounded")
    assert patched and most <= MAX_STARTING_CHILDREN
    # A run of no more children than the window records no marker (its first task: starts only); the
    # ones recorded before it did, at any size, and replay too (they still ask, when replaying).
    assert starts_in_flight("values-unmarked") == (5, False)
    assert "bounded-child-starts" in patches("plugin-values")
    assert not count("values-unmarked", "upsert_workflow_search_attributes_event_attributes")


def test_a_first_attempts_failure_carries_no_details() -> None:
    # The parent reads a child's attempt from its failure's details, and attempt 1 when there are none.
    [failed] = [e.workflow_execution_failed_event_attributes.failure for e in events("child-failed-first-attempt")
                if e.HasField("workflow_execution_failed_event_attributes")]
    assert failed.application_failure_info.type == "SimulatedFailure"
    assert not failed.application_failure_info.details.payloads
    [old] = [e.workflow_execution_failed_event_attributes.failure for e in events("child-failed")
             if e.HasField("workflow_execution_failed_event_attributes")]
    assert old.application_failure_info.details.payloads  # recorded before: {"attempt": 1}


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    """Each history against the workflows of the process that runs it: worker.py's, or the bot's."""
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    # Under its own id: a schedule's firing names its run after it (bot.runs.info.run_id_of).
    history = WorkflowHistory(history.events[0].workflow_execution_started_event_attributes.workflow_id
                              or path.stem, history.events)
    ours = {w.__name__ for w in BOT_WORKFLOWS}
    started = history.events[0].workflow_execution_started_event_attributes.workflow_type.name
    replayer = (Replayer(workflows=BOT_WORKFLOWS, workflow_runner=BOT_WORKFLOW_RUNNER) if started in ours
                else Replayer(workflows=[*WORKFLOWS, PluginChildWorkflow, PluginBatchWorkflow],
                              workflow_runner=WORKFLOW_RUNNER))
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
