"""Stored histories of every workflow shape replay against today's workflow code.

A change that would break running workflows (non-determinism) fails here; guard such changes with
`workflow.patched()`. Record new shapes with `python -m tests.histories.capture`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from worker import WORKFLOW_RUNNER, WORKFLOWS

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def test_every_shape_has_a_history() -> None:
    names = {p.stem for p in HISTORIES}
    assert {"lab-list", "failures-retries", "sequential-delay", "cancelled", "cancelled-starting", "batched",
            "sharded", "report-claim", "report-claim-renewed", "child-failed", "child-square-delay",
            "child-cancelled", "batch", "shard"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    result = await Replayer(workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER).replay_workflow(
        history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
