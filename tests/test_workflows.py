"""ParentWorkflow and its children against the real Temporal dev server."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from runtime.worker import WORKFLOW_RUNNER
from tests.conftest import temporal_cli
from tests.sandbox_probe import TellProbe
from workflows.model import FanoutRequest, FanoutResult, ValueRange
from workflows.parent import ParentWorkflow


def wid(prefix: str = "wf") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def run(client: Client, queue: str, request: FanoutRequest | list[int], **kw) -> FanoutResult:
    return await client.execute_workflow(ParentWorkflow.run, request, id=kw.pop("id", wid()), task_queue=queue, **kw)


def lab_view(result: dict) -> dict:
    """The lab's documented keys only, and only the documented fields inside the lists."""
    return {
        "total_children": result["total_children"],
        "successful_results": [{"value": s["value"], "result": s["result"]} for s in result["successful_results"]],
        "failed_children": [{k: f[k] for k in ("value", "error", "type")} for f in result["failed_children"]],
        "success_count": result["success_count"],
        "failure_count": result["failure_count"],
        "success_rate": result["success_rate"],
    }


LAB_DOCUMENTED_RESULT = {
    "total_children": 5,
    "successful_results": [{"value": 1, "result": 2}, {"value": 3, "result": 6}, {"value": 5, "result": 10}],
    "failed_children": [
        {"value": 2, "error": "Simulated failure for value 2", "type": "ApplicationError"},
        {"value": 4, "error": "Simulated failure for value 4", "type": "ApplicationError"},
    ],
    "success_count": 3,
    "failure_count": 2,
    "success_rate": 0.6,
}


async def test_lab_terminal_scenario_plain_list_gives_documented_structure(temporal_address: str, task_queue: str):
    # Exactly as the lab does it: the temporal CLI, a plain JSON list, the ParentWorkflow type.
    workflow_id = wid("lab")
    # (async subprocess: the in-process worker shares this event loop)
    proc = await asyncio.create_subprocess_exec(
        temporal_cli(), "workflow", "execute", "--address", temporal_address, "--task-queue", task_queue,
        "--type", "ParentWorkflow", "--input", "[1, 2, 3, 4, 5]", "--workflow-id", workflow_id, "-o", "json",
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0
    result = json.loads(stdout)["result"]
    assert lab_view(result) == LAB_DOCUMENTED_RESULT


async def test_lab_scenarios(client: Client, task_queue: str):
    all_success = await run(client, task_queue, [1, 3, 5, 7, 9])
    assert (all_success.success_count, all_success.failure_count, all_success.success_rate) == (5, 0, 1.0)
    assert [s.result for s in all_success.successful_results] == [2, 6, 10, 14, 18]
    all_failures = await run(client, task_queue, [2, 4, 6, 8])
    assert (all_failures.success_count, all_failures.failure_count, all_failures.success_rate) == (0, 4, 0.0)
    assert [f.error for f in all_failures.failed_children] == [f"Simulated failure for value {v}" for v in (2, 4, 6, 8)]
    assert {(f.type, f.kind) for f in all_failures.failed_children} == {("ApplicationError", "SimulatedFailure")}
    assert all_failures.failure_groups == {"SimulatedFailure": 4} and all_failures.shard_count == 0
    large = await run(client, task_queue, list(range(1, 16)))
    assert (large.total_children, large.success_count, large.failure_count) == (15, 8, 7)
    assert large.child_workflow_count == 15 and large.batch_size == 1


async def test_duplicate_values_and_identical_concurrent_runs_do_not_collide(client: Client, task_queue: str):
    # The lab's child-{v} ids collide here (WorkflowAlreadyStartedError).
    results = await asyncio.gather(*(run(client, task_queue, [2, 2, 3, 3]) for _ in range(3)))
    for result in results:
        assert result.total_children == 4
        assert [s.value for s in result.successful_results] == [3, 3]
        assert [f.value for f in result.failed_children] == [2, 2]


async def test_failure_rules_and_child_types(client: Client, task_queue: str):
    values = [ValueRange(1, 9)]
    mod3 = await run(client, task_queue, FanoutRequest(values, fail="mod:3"))
    assert [f.value for f in mod3.failed_children] == [3, 6, 9]
    odd = await run(client, task_queue, FanoutRequest(values, fail="odd"))
    assert [f.value for f in odd.failed_children] == [1, 3, 5, 7, 9]
    none = await run(client, task_queue, FanoutRequest(values, fail="none", child_type="square"))
    assert [s.result for s in none.successful_results] == [v * v for v in range(1, 10)]
    everything = await run(client, task_queue, FanoutRequest(values, fail="rate:1"))
    assert everything.failure_count == 9
    assert everything.failed_children[0].error == "Random failure for value 1"
    assert everything.failure_groups == {"RandomFailure": 9}


async def test_retries_report_attempts(client: Client, task_queue: str):
    result = await run(client, task_queue, FanoutRequest([ValueRange(1, 4)], max_attempts=2))
    assert [(f.value, f.attempts) for f in result.failed_children] == [(2, 2), (4, 2)]
    assert [(s.status, s.attempts, s.succeeded, s.failed) for s in result.spans] == [
        ("succeeded", 1, 1, 0), ("failed", 2, 0, 1), ("succeeded", 1, 1, 0), ("failed", 2, 0, 1)]
    assert all(s.attempts == 1 for s in result.successful_results)
    # one backoff interval (1 s) between the two attempts
    assert result.wall_s >= 1.0


async def test_sequential_runs_one_child_at_a_time(client: Client, task_queue: str):
    result = await run(client, task_queue, FanoutRequest([ValueRange(1, 4)], sequential=True, delay_min_s=0.2,
                                                         delay_max_s=0.2))
    spans = sorted(result.spans, key=lambda s: s.index)
    for before, after in zip(spans, spans[1:], strict=False):
        assert after.start_ms >= before.end_ms
    assert result.sequential and result.child_s_sum >= 0.8


async def test_parallel_children_overlap(client: Client, task_queue: str):
    result = await run(client, task_queue, FanoutRequest([ValueRange(1, 5)], delay_min_s=1, delay_max_s=1))
    assert result.wall_s < 2.5  # five one-second children at once, not five seconds
    assert result.child_s_sum >= 5.0


async def test_batches_cover_every_value(client: Client, task_queue: str):
    result = await run(client, task_queue, FanoutRequest([ValueRange(1, 95), ValueRange(200, 204)], batch_size=10))
    assert result.batch_size == 10 and result.child_workflow_count == 10
    assert (result.total_children, result.success_count, result.failure_count) == (100, 50, 50)
    assert result.results_complete
    assert {s.value for s in result.successful_results} == {v for v in [*range(1, 96), *range(200, 205)] if v % 2}


async def wait_progress(handle, predicate, timeout: float = 30.0):
    async def poll():
        while True:
            progress = await handle.query(ParentWorkflow.progress)
            if predicate(progress):
                return progress
            await asyncio.sleep(0.1)

    return await asyncio.wait_for(poll(), timeout)


async def test_cancel_signal_stops_children_and_reports_partial_results(client: Client, task_queue: str):
    request = FanoutRequest([ValueRange(1, 6)], fail="none", sequential=True, delay_min_s=0.5, delay_max_s=0.5)
    handle = await client.start_workflow(ParentWorkflow.run, request, id=wid("cancel"), task_queue=task_queue)
    await wait_progress(handle, lambda p: p.succeeded >= 1)
    await handle.signal(ParentWorkflow.request_cancel, "U42")
    result = await handle.result()
    assert result.status == "cancelled" and result.cancelled_by == "U42"
    assert 1 <= result.success_count < 6
    assert result.cancelled_count == 6 - result.success_count
    assert [s.status for s in result.spans][-1] == "cancelled"
    memo = await (await handle.describe()).memo()
    assert memo["cancelled_by"] == "U42"


async def test_cancel_from_outside_reports_partial_results(client: Client, task_queue: str):
    request = FanoutRequest([ValueRange(1, 3)], fail="none", delay_min_s=30, delay_max_s=30)
    handle = await client.start_workflow(ParentWorkflow.run, request, id=wid("xcancel"), task_queue=task_queue)
    await wait_progress(handle, lambda p: p.running == 3)
    await handle.cancel()
    result = await handle.result()
    assert result.status == "cancelled" and result.cancelled_count == 3
    children = [wf async for wf in client.list_workflows(f"ParentWorkflowId = '{handle.id}'")]
    assert len(children) == 3
    for child in children:
        assert (await client.get_workflow_handle(child.id).describe()).status.name == "CANCELED"


async def test_progress_query(client: Client, task_queue: str):
    request = FanoutRequest([ValueRange(1, 4)], delay_min_s=3, delay_max_s=3)
    handle = await client.start_workflow(ParentWorkflow.run, request, id=wid("progress"), task_queue=task_queue)
    for _ in range(50):  # until the four children are dispatched (their 3 s delays then run)
        await asyncio.sleep(0.1)
        progress = await handle.query(ParentWorkflow.progress)
        if progress.running == 4:
            break
    assert progress.total == 4 and progress.running == 4 and progress.finished == 0
    await handle.result()
    done = await handle.query(ParentWorkflow.progress)
    assert done.done and (done.succeeded, done.failed) == (2, 2)


def test_a_parent_starts_registered_child_types_by_name() -> None:
    # The parent names its children's workflow types (its sandbox then imports none of their modules): each lab
    # child type must name a workflow the worker registers, or its runs would wait for a worker that never comes.
    from temporalio import workflow

    from runtime.worker import WORKFLOWS
    from workflows.model import CHILD_WORKFLOW_TYPES
    from workflows.rules import CHILD_TYPES

    registered = {workflow._Definition.must_from_class(w).name for w in WORKFLOWS}
    assert set(CHILD_WORKFLOW_TYPES) == set(CHILD_TYPES)
    assert set(CHILD_WORKFLOW_TYPES.values()) <= registered


async def test_telling_a_workflow_that_has_closed_or_never_was_is_false_and_logged(
        client: Client, caplog: pytest.LogCaptureFixture) -> None:
    """The one handler workflow code has for a refused signal (a batch's parent, a shard's root, a reporter's run,
    Home tab or quota may have closed), reached on the real server."""
    queue = f"tell-{uuid.uuid4().hex[:8]}"
    gone = f"gone-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[TellProbe, ParentWorkflow], workflow_runner=WORKFLOW_RUNNER):
        with caplog.at_level(logging.INFO, logger="temporalio.workflow"):
            assert await client.execute_workflow(TellProbe.run, gone, id=f"tell-{uuid.uuid4().hex}",
                                                 task_queue=queue) is False
        assert f"Signal request_cancel not delivered to {gone}" in caplog.text
        target = await client.start_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, 2)], delay_min_s=30,
                                                                              delay_max_s=30),
                                             id=f"tell-target-{uuid.uuid4().hex}", task_queue=queue)
        assert await client.execute_workflow(TellProbe.run, target.id, id=f"tell-{uuid.uuid4().hex}",
                                             task_queue=queue) is True
        await target.terminate("done")
