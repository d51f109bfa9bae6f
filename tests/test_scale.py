"""Fan-outs above every threshold, against the real dev server: per-value -> batched (1,001),
batched without shards (2,500), sharded (25,000 in 250 batches), batches of 10,000, shards of 25
batches (260,000 values; 1,000,000 as planned), a batch working in steps and one cancelled between
them, cancel at each size, history size, and every value's row in the CSV (also through the fake Slack
Web API; the CSV written a batch at a time is byte for byte csv.writer's)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from dataclasses import replace

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import ActivityEnvironment

from bot.files.csv_file import write_csv
from bot.reporting.activities import SlackReport
from bot.reporting.payloads import PostResult
from bot.runs.info import RunInfo
from bot.runs.results import ValueRow, ValueRows, failed_values, value_rows
from bot.slack.calls import SlackHealth
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from workflows.batch import progress_steps
from workflows.fanin import Fold
from workflows.model import (
    MAX_BATCH_SIZE,
    MAX_STARTING_CHILDREN,
    BatchOutput,
    FanoutRequest,
    FanoutResult,
    Progress,
    ValueRange,
)
from workflows.parent import ParentWorkflow
from workflows.values import (
    batch_problem,
    batches_per_workflow,
    chunk_ranges,
    count_values,
    plan_batch_size,
    plan_shards,
)


def wid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def start(client: Client, queue: str, request: FanoutRequest, prefix: str) -> WorkflowHandle:
    return await client.start_workflow(ParentWorkflow.run, request, id=wid(prefix), task_queue=queue)


async def rows_of(client: Client, run_id: str, result: FanoutResult) -> list[ValueRow]:
    return [row async for row in value_rows(client, run_id, result)]


async def history_size(client: Client, workflow_id: str) -> tuple[int, int]:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return len(history.events), sum(event.ByteSize() for event in history.events)


async def timers(client: Client, workflow_id: str) -> int:
    try:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
    except Exception:  # not started yet
        return 0
    return sum(event.HasField("timer_started_event_attributes") for event in history.events)


async def poll_progress(handle: WorkflowHandle, seen: list[Progress]) -> None:
    while True:
        try:
            seen.append(await handle.query(ParentWorkflow.progress))
        except Exception:
            pass
        if seen and seen[-1].done:
            return
        await asyncio.sleep(0.2)


async def closed_children(client: Client, parent_id: str) -> list[tuple[str, WorkflowExecutionStatus | None]]:
    """The parent's children once visibility shows none running (it is eventually consistent)."""
    for _ in range(100):
        children = [(wf.id, wf.status) async for wf in client.list_workflows(f"ParentWorkflowId = '{parent_id}'")]
        if all(status != WorkflowExecutionStatus.RUNNING for _, status in children):
            return children
        await asyncio.sleep(0.2)
    raise AssertionError(f"children of {parent_id} still running: {children}")


# -- pure pieces ------------------------------------------------------------------------------------

def test_plan_thresholds() -> None:
    assert plan_batch_size(1000) == 1 and plan_batch_size(1001) == 11
    assert plan_batch_size(2500) == 25 and plan_shards(100, 25) == 0  # 100 batches: no shards
    assert plan_batch_size(100_000) == 1000 and plan_shards(100, 1000) == 0
    # 1,000,000 values: 100 batches of 10,000, 25 to a workflow (7 MB of results at worst): 4 shards.
    assert plan_batch_size(1_000_000) == 10_000 and batches_per_workflow(10_000) == 25
    assert plan_shards(100, 10_000) == 4 and plan_batch_size(5_000_000) == 10_000
    # Up to the old cap (2,000 values) a workflow still owns 100 batches: old runs replay with their shards.
    assert batches_per_workflow(2000) == 100 and plan_shards(500, 2000) == 5 and plan_shards(300, 100) == 3
    chunks = list(chunk_ranges([ValueRange(1, 95), ValueRange(200, 204)], 10))
    assert [count_values(c) for c in chunks] == [10] * 10
    assert chunks[-1] == [ValueRange(91, 95), ValueRange(200, 204)]


def test_fold_keeps_first_samples_in_value_order() -> None:
    fold = Fold(list_limit=3)
    output = BatchOutput(results=[None, 20, None, 40], failures=[[0, 0, 1], [2, 0, 2]], kinds=["SimulatedFailure"],
                         templates={"SimulatedFailure": "Simulated failure for value {value}"})
    assert fold.batch(4, [5, 6, 7, 8], output) == (2, 2)
    assert fold.batch(0, [1, 2, 3, 4], output) == (2, 2)
    result = fold.result(8)
    assert [s.value for s in result.successful_results] == [2, 4, 6]
    assert [(f.value, f.error, f.attempts) for f in result.failed_children] == [
        (1, "Simulated failure for value 1", 1), (3, "Simulated failure for value 3", 2),
        (5, "Simulated failure for value 5", 1)]
    assert (result.failure_groups, result.results_complete) == ({"SimulatedFailure": 4}, False)


# -- thresholds -------------------------------------------------------------------------------------

async def test_1001_values_go_batched(client: Client, task_queue: str) -> None:
    result = await client.execute_workflow(ParentWorkflow.run, FanoutRequest([ValueRange(1, 1001)]),
                                           id=wid("b1001"), task_queue=task_queue)
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (11, 91, 0)
    assert (result.success_count, result.failure_count, result.cancelled_count) == (501, 500, 0)
    assert not result.results_complete and len(result.successful_results) == 100


@pytest.fixture(scope="module")
async def run_2500(client: Client, task_queue: str) -> tuple[str, FanoutResult]:
    handle = await start(client, task_queue, FanoutRequest([ValueRange(1, 2500)]), "b2500")
    return handle.id, await handle.result()


async def test_2500_values_batched_without_shards(client: Client, run_2500: tuple[str, FanoutResult]) -> None:
    run_id, result = run_2500
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (25, 100, 0)
    assert (result.success_count, result.failure_count, result.cancelled_count) == (1250, 1250, 0)
    assert result.status == "completed" and result.failure_groups == {"SimulatedFailure": 1250}
    assert [s.value for s in result.successful_results] == list(range(1, 200, 2))  # the first 100, in order
    assert [f.value for f in result.failed_children] == list(range(2, 201, 2))
    assert result.failed_children[0].error == "Simulated failure for value 2"
    assert [s.index for s in result.spans] == list(range(100))
    rows = await rows_of(client, run_id, result)
    assert [r.value for r in rows] == list(range(1, 2501))
    assert rows[0] == ValueRow(1, "succeeded", 2, "", 1)
    assert rows[2499] == ValueRow(2500, "failed", None, "Simulated failure for value 2500", 1)
    assert await failed_values(client, run_id, result) == list(range(2, 2501, 2))
    events, size = await history_size(client, run_id)
    assert events < 1000 and size < 1_000_000


@pytest.fixture(scope="module")
async def run_25k(client: Client, task_queue: str) -> tuple[str, FanoutResult, list[Progress]]:
    request = FanoutRequest([ValueRange(1, 20000), ValueRange(30001, 35000)], fail="mod:3", batch_size=100)
    handle = await start(client, task_queue, request, "s25k")
    seen: list[Progress] = []
    await asyncio.wait_for(poll_progress(handle, seen), 120)
    return handle.id, await handle.result(), seen


async def test_25000_values_in_shards(client: Client, run_25k: tuple[str, FanoutResult, list[Progress]]) -> None:
    run_id, result, _ = run_25k
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (100, 250, 3)
    fails = sum(1 for v in [*range(1, 20001), *range(30001, 35001)] if v % 3 == 0)
    assert (result.total_children, result.failure_count, result.success_count) == (25000, fails, 25000 - fails)
    assert result.failure_groups == {"SimulatedFailure": fails} and result.cancelled_count == 0
    assert [s.index for s in result.spans] == list(range(250))  # global batch indexes from every shard
    # Each batch's counts are in the run's result (the shards' spans carry them to the root).
    assert [(s.succeeded + s.failed, s.status) for s in result.spans] == [(100, "mixed")] * 250
    assert sum(s.failed for s in result.spans) == fails and sum(s.succeeded for s in result.spans) == 25000 - fails
    assert [f.value for f in result.failed_children] == list(range(3, 301, 3))
    # Batch ids are run-wide whoever started them: the last batch belongs to shard 2.
    assert (await client.get_workflow_handle(f"{run_id}-b249").describe()).parent_id == f"{run_id}-s2"
    rows = await rows_of(client, run_id, result)
    assert [r.value for r in rows] == [*range(1, 20001), *range(30001, 35001)]
    assert rows[2] == ValueRow(3, "failed", None, "Simulated failure for value 3", 1)
    assert rows[20000] == ValueRow(30001, "succeeded", 60002, "", 1)
    assert rows[-1] == ValueRow(35000, "succeeded", 70000, "", 1)
    assert sum(r.status == "failed" for r in rows) == fails


async def test_sharded_progress_moves_while_shards_run(run_25k: tuple[str, FanoutResult, list[Progress]]) -> None:
    _, result, seen = run_25k
    finished = [p.finished for p in seen]
    assert finished == sorted(finished)  # cumulative counts never go back
    assert any(0 < f < 25000 for f in finished), finished  # shards' counts reach the root while they run
    assert seen[-1].done and seen[-1].succeeded == result.success_count


async def test_history_of_a_sharded_run_stays_small(client: Client,
                                                    run_25k: tuple[str, FanoutResult, list[Progress]]) -> None:
    run_id, _, _ = run_25k
    events, size = await history_size(client, run_id)
    assert events < 5000 and size < 2_000_000, (events, size)
    shard_events, shard_size = await history_size(client, f"{run_id}-s0")
    assert shard_events < 5000 and shard_size < 5_000_000, (shard_events, shard_size)


# -- cancel at size ---------------------------------------------------------------------------------

SLOW = FanoutRequest([ValueRange(1, 25000)], fail="even", batch_size=100, delay_min_s=0.2, delay_max_s=8.0)


@pytest.mark.parametrize("how", ["signal", "external"])
async def test_cancel_a_sharded_run(client: Client, task_queue: str, how: str) -> None:
    handle = await start(client, task_queue, SLOW, f"xs-{how}")
    seen: list[Progress] = []

    async def some_finished() -> None:
        while not seen or seen[-1].finished == 0:
            seen.append(await handle.query(ParentWorkflow.progress))
            await asyncio.sleep(0.2)

    await asyncio.wait_for(some_finished(), 60)
    if how == "signal":
        await handle.signal(ParentWorkflow.request_cancel, "U42")
    else:
        await handle.cancel()
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.status == "cancelled" and result.cancelled_by == ("U42" if how == "signal" else "")
    assert result.success_count + result.failure_count + result.cancelled_count == 25000
    assert result.success_count > 0 and result.cancelled_count > 0
    assert result.failure_groups == {"SimulatedFailure": result.failure_count}
    # Shards returned their partial results normally (a cancelled child that returns is COMPLETED,
    # and its result reaches the parent as a value, not a ChildWorkflowError).
    shards = await closed_children(client, handle.id)
    assert sorted(wf_id for wf_id, _ in shards) == [f"{handle.id}-s{k}" for k in range(3)]
    shard_results = [await client.get_workflow_handle(f"{handle.id}-s{k}", result_type=FanoutResult).result()
                     for k in range(3)]
    assert all(status == WorkflowExecutionStatus.COMPLETED for _, status in shards)
    assert all(r.status == "cancelled" for r in shard_results)
    assert sum(r.success_count for r in shard_results) == result.success_count
    # Their batches are all closed: finished ones COMPLETED, the ones still in their delay CANCELED.
    batches = [b for k in range(3) for b in await closed_children(client, f"{handle.id}-s{k}")]
    assert {status for _, status in batches} <= {WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.CANCELED}
    assert any(status == WorkflowExecutionStatus.CANCELED for _, status in batches)
    rows = await rows_of(client, handle.id, result)
    counts = {s: sum(r.status == s for r in rows) for s in ("succeeded", "failed", "cancelled")}
    assert counts == {"succeeded": result.success_count, "failed": result.failure_count,
                      "cancelled": result.cancelled_count}
    assert [r.value for r in rows] == list(range(1, 25001))


@pytest.mark.parametrize("how", ["signal", "external"])
async def test_cancel_while_child_starts_are_in_flight(client: Client, task_queue: str, how: str) -> None:
    # Cancelled 0.2 s in, while child starts are in flight (the dev server starts ~40 children/s). A child
    # can only be cancelled once its start has landed, so each such child is cancelled when it does: none
    # runs on unasked, none is terminated, and the result's counts are exactly what the children did.
    # At most MAX_STARTING_CHILDREN starts are in flight at once, so the cancel finds few of them and the
    # other values are never started (before that bound, all 300 starts went out in the first workflow
    # task; the cancel waited behind them, and up to 296 children ran their 3 s to the end).
    request = FanoutRequest([ValueRange(1, 300)], fail="none", delay_min_s=3.0, delay_max_s=3.0)
    handle = await start(client, task_queue, request, f"xstart-{how}")
    await asyncio.sleep(0.2)
    if how == "signal":
        await handle.signal(ParentWorkflow.request_cancel, "U9")
    else:
        await handle.cancel()
    result = await asyncio.wait_for(handle.result(), 60)
    children = await closed_children(client, handle.id)
    statuses = [status for _, status in children]
    assert WorkflowExecutionStatus.TERMINATED not in statuses
    assert statuses.count(WorkflowExecutionStatus.COMPLETED) == result.success_count
    assert statuses.count(WorkflowExecutionStatus.CANCELED) + (300 - len(children)) == result.cancelled_count
    assert result.cancelled_count > result.success_count  # the cancel took effect early
    assert len(children) < 300  # the values not yet dispatched were never started


async def test_child_starts_in_flight_are_bounded(client: Client, task_queue: str) -> None:
    # 300 per-value children: never more than MAX_STARTING_CHILDREN initiated and not yet started.
    handle = await start(client, task_queue, FanoutRequest([ValueRange(1, 300)], fail="none"), "starts")
    result = await asyncio.wait_for(handle.result(), 60)
    assert (result.success_count, result.cancelled_count) == (300, 0)
    in_flight, most = 0, 0
    async for event in handle.fetch_history_events():
        if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
            in_flight += 1
            most = max(most, in_flight)
        elif (event.HasField("child_workflow_execution_started_event_attributes")
              or event.HasField("start_child_workflow_execution_failed_event_attributes")):
            in_flight -= 1
    assert in_flight == 0 and most == MAX_STARTING_CHILDREN


async def test_cancel_while_batches_wait_to_retry(client: Client, task_queue: str) -> None:
    # Even values fail every attempt; the batches sit in their 1 s, 2 s, 4 s… backoff when cancelled and
    # return what they have: odd values succeeded, even ones never finished (cancelled, not failed).
    request = FanoutRequest([ValueRange(1, 40)], fail="even", batch_size=10, max_attempts=5)
    handle = await start(client, task_queue, request, "xretry")
    for _ in range(200):  # every batch has done two rounds and waits on its second backoff timer
        if all([await timers(client, f"{handle.id}-b{i}") >= 2 for i in range(4)]):
            break
        await asyncio.sleep(0.1)
    await handle.signal(ParentWorkflow.request_cancel, "U7")
    result = await asyncio.wait_for(handle.result(), 30)
    assert (result.status, result.success_count, result.failure_count, result.cancelled_count) == (
        "cancelled", 20, 0, 20)
    assert {s.status for s in result.spans} == {"mixed"}
    assert [(s.succeeded, s.failed, s.values) for s in result.spans] == [(5, 0, 10)] * 4  # the rest cancelled
    rows = await rows_of(client, handle.id, result)
    assert rows[0] == ValueRow(1, "succeeded", 2, "", 1)
    assert rows[1].status == "cancelled" and rows[1].attempts >= 2



# -- every shape the thresholds make: batches of 10,000, shards of 25, batches working in steps ---------------

def test_batch_cap_and_steps() -> None:
    assert batch_problem(30_000, MAX_BATCH_SIZE) is None and batch_problem(30_000, MAX_BATCH_SIZE + 1) is not None
    # Steps of SHARD_PROGRESS_INTERVAL_S (1.5 s): none below two intervals, at most BATCH_PROGRESS_STEPS_MAX.
    assert [progress_steps(d) for d in (0.0, 2.9, 3.0, 4.5, 15.0, 600.0)] == [1, 1, 2, 3, 10, 10]
    # Shards of 25 batches from batches of 9,616 values up (the lab's ints): 26 batches are 2 shards.
    assert batches_per_workflow(9_615) == 26 and batches_per_workflow(9_616) == 25 and plan_shards(26, 10_000) == 2


async def test_batches_of_10000(client: Client, task_queue: str) -> None:
    request = FanoutRequest([ValueRange(1, 25_000), ValueRange(40_001, 45_000)], fail="mod:4", batch_size=10_000)
    handle = await start(client, task_queue, request, "b10k")
    result = await asyncio.wait_for(handle.result(), 60)
    values = [*range(1, 25_001), *range(40_001, 45_001)]
    fails = sum(1 for v in values if v % 4 == 0)
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (10_000, 3, 0)
    assert (result.total_children, result.success_count, result.failure_count, result.cancelled_count) == (
        30_000, 30_000 - fails, fails, 0)
    assert result.status == "completed" and result.failure_groups == {"SimulatedFailure": fails}
    assert [s.index for s in result.spans] == [0, 1, 2]
    for k in range(3):  # the root started each batch itself, at its run-wide id
        assert (await client.get_workflow_handle(f"{handle.id}-b{k}").describe()).parent_id == handle.id
    rows = await rows_of(client, handle.id, result)
    assert [r.value for r in rows] == values
    assert rows[3] == ValueRow(4, "failed", None, "Simulated failure for value 4", 1)
    assert rows[25_000] == ValueRow(40_001, "succeeded", 80_002, "", 1)
    assert rows[-1] == ValueRow(45_000, "failed", None, "Simulated failure for value 45000", 1)
    assert sum(r.status == "failed" for r in rows) == fails


async def test_cancel_batches_of_10000(client: Client, task_queue: str) -> None:
    # Ten batches of 10,000 sleeping 0.1-2.9 s (one step each): cancelled once the first is done, the finished
    # ones keep their results and the sleeping ones are cancelled whole.
    request = FanoutRequest([ValueRange(1, 100_000)], fail="none", batch_size=10_000, delay_min_s=0.1,
                            delay_max_s=2.9)
    handle = await start(client, task_queue, request, "xb10k")
    for _ in range(300):
        if (await handle.query(ParentWorkflow.progress)).finished:
            break
        await asyncio.sleep(0.05)
    await handle.signal(ParentWorkflow.request_cancel, "U5")
    result = await asyncio.wait_for(handle.result(), 60)
    assert (result.status, result.cancelled_by, result.failure_count) == ("cancelled", "U5", 0)
    done = result.success_count // 10_000
    assert result.success_count == done * 10_000 and 0 < done < 10
    assert result.cancelled_count == 100_000 - result.success_count
    batches = dict(await closed_children(client, handle.id))
    assert sorted(batches) == sorted(f"{handle.id}-b{k}" for k in range(10))
    statuses = list(batches.values())
    assert statuses.count(WorkflowExecutionStatus.COMPLETED) == done
    assert statuses.count(WorkflowExecutionStatus.CANCELED) == 10 - done
    rows = await rows_of(client, handle.id, result)
    assert [r.value for r in rows] == list(range(1, 100_001))
    assert sum(r.status == "succeeded" for r in rows) == result.success_count
    assert {r for r in rows if r.status == "cancelled"} == {ValueRow(r.value, "cancelled", None, "", 0)
                                                            for r in rows if r.status == "cancelled"}


@pytest.fixture(scope="module")
async def run_260k(client: Client, task_queue: str) -> tuple[str, FanoutResult]:
    # 26 batches of 10,000: a workflow owns 25 of them at most (7 MB of results at worst), so 2 shards.
    request = FanoutRequest([ValueRange(1, 260_000)], fail="mod:5", batch_size=10_000)
    handle = await start(client, task_queue, request, "s260k")
    return handle.id, await asyncio.wait_for(handle.result(), 120)


async def test_shards_of_25_batches(client: Client, run_260k: tuple[str, FanoutResult]) -> None:
    run_id, result = run_260k
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (10_000, 26, 2)
    assert (result.total_children, result.success_count, result.failure_count) == (260_000, 208_000, 52_000)
    assert result.status == "completed" and result.cancelled_count == 0
    assert [s.index for s in result.spans] == list(range(26))
    assert [f.value for f in result.failed_children] == list(range(5, 501, 5))  # the first 100, in order
    describe = [await client.get_workflow_handle(f"{run_id}-{child}").describe()
                for child in ("s0", "s1", "b24", "b25")]
    assert [d.parent_id for d in describe] == [run_id, run_id, f"{run_id}-s0", f"{run_id}-s1"]
    shard_0 = await client.get_workflow_handle(f"{run_id}-s0", result_type=FanoutResult).result()
    assert (shard_0.child_workflow_count, shard_0.success_count + shard_0.failure_count) == (25, 250_000)
    rows = await rows_of(client, run_id, result)
    assert len(rows) == 260_000 and [r.value for r in rows[::9_999]] == list(range(1, 260_001, 9_999))
    assert rows[249_999] == ValueRow(250_000, "failed", None, "Simulated failure for value 250000", 1)
    assert rows[250_000] == ValueRow(250_001, "succeeded", 500_002, "", 1)  # the first value of shard 1
    assert sum(r.status == "failed" for r in rows) == 52_000
    events, size = await history_size(client, f"{run_id}-s0")
    assert size < 7_000_000, (events, size)  # 25 batch results of 10,000 values in one history


async def test_a_million_values_as_planned(client: Client, task_queue: str, tmp_path) -> None:
    # The plan itself (no --batch): 100 batches of 10,000 in 4 shards of 25, every value in the CSV.
    handle = await start(client, task_queue, FanoutRequest([ValueRange(1, 1_000_000)]), "m1")
    result = await asyncio.wait_for(handle.result(), 120)
    assert (result.batch_size, result.child_workflow_count, result.shard_count) == (10_000, 100, 4)
    assert (result.success_count, result.failure_count, result.cancelled_count) == (500_000, 500_000, 0)
    assert [s.index for s in result.spans] == list(range(100))
    assert (await client.get_workflow_handle(f"{handle.id}-b99").describe()).parent_id == f"{handle.id}-s3"
    assert sorted(wf_id for wf_id, _ in await closed_children(client, handle.id)) == [
        f"{handle.id}-s{k}" for k in range(4)]
    path = tmp_path / "m1.csv"
    assert await write_csv(value_rows(client, handle.id, result), str(path)) == 1_000_000
    with open(path, "rb") as f:
        lines = f.read().split(b"\r\n")
    assert (lines[1], lines[1_000_000], lines[-1]) == (
        b"1,succeeded,2,,1", b"1000000,failed,,Simulated failure for value 1000000,1", b"")
    assert len(lines) == 1_000_002

async def test_cancel_shards_of_25_batches(client: Client, task_queue: str) -> None:
    request = FanoutRequest([ValueRange(1, 260_000)], batch_size=10_000, delay_min_s=0.1, delay_max_s=2.9)
    handle = await start(client, task_queue, request, "xs260k")
    for _ in range(300):
        if (await handle.query(ParentWorkflow.progress)).finished:
            break
        await asyncio.sleep(0.05)
    await handle.cancel()
    result = await asyncio.wait_for(handle.result(), 60)
    assert result.status == "cancelled" and result.shard_count == 2
    assert result.success_count == result.failure_count > 0  # whole batches of 10,000, half of them even
    assert result.cancelled_count > 0 and result.cancelled_count % 10_000 == 0
    assert result.success_count + result.failure_count + result.cancelled_count == 260_000
    shards = dict(await closed_children(client, handle.id))
    assert sorted(shards) == [f"{handle.id}-s0", f"{handle.id}-s1"]
    assert set(shards.values()) == {WorkflowExecutionStatus.COMPLETED}  # each returned what it had
    shard_results = [await client.get_workflow_handle(f"{handle.id}-s{k}", result_type=FanoutResult).result()
                     for k in range(2)]
    assert sum(r.cancelled_count for r in shard_results) == result.cancelled_count
    assert len(await closed_children(client, f"{handle.id}-s0")) == 25
    rows = await rows_of(client, handle.id, result)
    assert sum(r.status == "cancelled" for r in rows) == result.cancelled_count and len(rows) == 260_000


STEPS = FanoutRequest([ValueRange(1, 3000)], batch_size=3000, delay_min_s=4.5, delay_max_s=4.5)  # 3 steps of 1.5 s


async def test_a_batch_works_in_steps(client: Client, task_queue: str) -> None:
    handle = await start(client, task_queue, STEPS, "steps")
    seen: list[Progress] = []
    await asyncio.wait_for(poll_progress(handle, seen), 30)
    result = await handle.result()
    assert (result.child_workflow_count, result.success_count, result.failure_count) == (1, 1500, 1500)
    # After each of the first two steps the batch told the root its counts: the bar moved while it slept.
    finished = [p.finished for p in seen]
    assert finished == sorted(finished) and set(finished) <= {0, 1000, 2000, 3000}
    assert {1000, 2000} <= set(finished), finished
    history = await client.get_workflow_handle(f"{handle.id}-b0").fetch_history()
    assert sum(e.HasField("timer_started_event_attributes") for e in history.events) == 3
    assert sum(e.HasField("signal_external_workflow_execution_initiated_event_attributes")
               for e in history.events) == 2
    rows = await rows_of(client, handle.id, result)
    assert [r.value for r in rows] == list(range(1, 3001)) and {r.status for r in rows} == {"succeeded", "failed"}


@pytest.mark.parametrize("how", ["signal", "external"])
async def test_a_batch_cancelled_between_steps(client: Client, task_queue: str, how: str) -> None:
    handle = await start(client, task_queue, STEPS, f"xsteps-{how}")
    for _ in range(200):  # its first step (1,000 values) done; the second is 1.5 s away
        if (await handle.query(ParentWorkflow.progress)).finished:
            break
        await asyncio.sleep(0.05)
    if how == "signal":
        await handle.signal(ParentWorkflow.request_cancel, "U6")
    else:
        await handle.cancel()
    result = await asyncio.wait_for(handle.result(), 30)
    assert (result.status, result.success_count, result.failure_count, result.cancelled_count) == (
        "cancelled", 500, 500, 2000)
    # The batch returned what it had: completed, its first slice done, the rest cancelled.
    assert (await client.get_workflow_handle(f"{handle.id}-b0").describe()).status == WorkflowExecutionStatus.COMPLETED
    assert {s.status for s in result.spans} == {"mixed"}
    rows = await rows_of(client, handle.id, result)
    assert [r.value for r in rows] == list(range(1, 3001))
    assert rows[999] == ValueRow(1000, "failed", None, "Simulated failure for value 1000", 1)
    assert {r.status for r in rows[:1000]} == {"succeeded", "failed"}
    assert {r.status for r in rows[1000:]} == {"cancelled"}

# -- the CSV in Slack -------------------------------------------------------------------------------

def run_info(run_id: str, value_count: int, thread_ts: str) -> RunInfo:
    return RunInfo(workflow_id=run_id, user_id="U1", channel_id="C1", text="1-…", value_count=value_count,
                   batch_size=1, child_workflow_count=value_count, thread_ts=thread_ts, message_ts=thread_ts)


async def upload_csv(client: Client, slack: AsyncWebClient, run: RunInfo, result: FanoutResult) -> None:
    """The reporter's CSV upload activity (bot.reporting.activities), run outside a worker."""
    report = SlackReport(slack, SlackHealth())
    await ActivityEnvironment(client).run(report.upload_csv, PostResult(run, result))


async def test_csv_upload_through_fake_slack(client: Client, task_queue: str,
                                             run_2500: tuple[str, FanoutResult]) -> None:
    async with FakeSlack(limits=SlackLimits.off()) as fake:  # its own: the session's bot uploads files too
        slack = AsyncWebClient(base_url=fake.base_url, token=fake.bot_token)
        thread = (await slack.chat_postMessage(channel="C1", text="run"))["ts"]
        run_id, result = run_2500
        await upload_csv(client, slack, run_info(run_id, 2500, thread), result)
        [f] = fake.files
        assert (f["filename"], f["channel_id"], f["thread_ts"]) == (f"{run_id}.csv", "C1", thread)
        table = list(csv.reader(io.StringIO(f["content"].decode())))
        assert table[0] == ["value", "status", "result", "error", "attempts"]
        assert len(table) == 2501 and [int(r[0]) for r in table[1:]] == list(range(1, 2501))
        assert table[1] == ["1", "succeeded", "2", "", "1"]
        assert table[2] == ["2", "failed", "", "Simulated failure for value 2", "1"]

        # A per-value run of 60 values: its rows come from the result itself.
        small = await client.execute_workflow(ParentWorkflow.run, list(range(1, 61)), id=wid("pv60"),
                                              task_queue=task_queue)
        assert small.batch_size == 1 and small.results_complete
        small_id = f"{run_id}-pv"  # any id: a per-value run's rows need only its request
        rows = [row async for row in value_rows(client, small_id, small, FanoutRequest([ValueRange(1, 60)]))]
        assert [r.value for r in rows] == list(range(1, 61)) and rows[59] == ValueRow(
            60, "failed", None, "Simulated failure for value 60", 1)
        # Five values fit in the summary: no file.
        await upload_csv(client, slack, run_info(run_id, 5, thread), replace(small, total_children=5))
        assert len(fake.files) == 1


async def test_write_csv_streams_rows(tmp_path) -> None:
    async def rows():
        yield ValueRow(1, "succeeded", 2, "", 1)
        yield ValueRow(2, "cancelled", None, "", 0)

    path = tmp_path / "x.csv"
    assert await write_csv(rows(), str(path)) == 2
    assert path.read_bytes() == b"value,status,result,error,attempts\r\n1,succeeded,2,,1\r\n2,cancelled,,,0\r\n"


class PairRows(ValueRows):
    """ValueRows over ready (values, outcome) pairs, as bot.runs.results reads them from a run's batches."""

    def __init__(self, pairs: list) -> None:
        super().__init__(None, "pairs", None, None, 0)  # type: ignore[arg-type]
        self.pairs = pairs

    async def batches(self):
        for pair in self.pairs:
            yield pair


async def one_row_at_a_time(rows: ValueRows):
    async for row in rows:  # not a ValueRows: write_csv's csv.writer path, the reference
        yield row


async def test_write_csv_a_batch_at_a_time_is_byte_identical_to_csv_writer(tmp_path) -> None:
    from temporalio.exceptions import ApplicationError, CancelledError

    from workflows.model import FailedChild, SuccessfulResult

    per_value = FanoutResult(
        total_children=5, successful_results=[SuccessfulResult(1, 2), SuccessfulResult(3, 6, attempts=2),
                                              SuccessfulResult(3, 6)],
        failed_children=[FailedChild(2, "Simulated failure for value 2", attempts=3),
                         FailedChild(4, 'bad "4", or\nworse', kind="X")],
        success_count=3, failure_count=2, success_rate=0.6)
    pairs = [
        ([1, 2, 3, 3, 4, 5], per_value),  # a per-value run: duplicates matched in order, 5 never finished
        ([10, 11, 12, 13, 14], BatchOutput(  # the lab's batch with retries: attempts per value, one cancelled
            results=[20, None, 24, None, None], failures=[[1, 0, 3], [3, 1, 2]], kinds=["Comma", "Quote"],
            templates={"Comma": "failed, value {value}", "Quote": 'the "value" {value} {value}'},
            attempts=[1, 3, 2, 2, 2], cancelled=[4])),
        ([-3, -2, -1, 0], BatchOutput(results=[-6, None, None, 0], failures=[[1, 0, 1]], kinds=["Bare"])),
        ([20, 21, 22, 23, 24], BatchOutput(  # a team's batch: JSON results, each failure's own message
            results=[{"a": [1, "x,y"]}, None, "é\"q\"", True, [1.5, None]], failures=[[1, 0, 2]],
            kinds=["Boom"], templates={"Boom": "boom {value}"}, messages=["line one\r\nline two"])),
        ([30, 31], None),  # never started
        ([40, 41], CancelledError("cancelled")),  # cancelled as a whole
        ([50, 51], ApplicationError('batch failed: "timeout", giving up')),  # failed as a whole
        ([60, 61, 62], BatchOutput(results=[None, 122, None])),  # no result and no failure: "no result"
        (list(range(100, 30_100)), BatchOutput(  # a large batch (progress marks), every third value failing
            results=[None if v % 3 == 0 else v * 2 for v in range(100, 30_100)],
            failures=[[i, 0, 1] for i, v in enumerate(range(100, 30_100)) if v % 3 == 0],
            kinds=["SimulatedFailure"], templates={"SimulatedFailure": "Simulated failure for value {value}"})),
    ]
    rows = PairRows(pairs)
    fast, reference = tmp_path / "fast.csv", tmp_path / "reference.csv"
    marks: list[int] = []
    assert await write_csv(rows, str(fast), on_progress=marks.append) == 30_029
    assert await write_csv(one_row_at_a_time(rows), str(reference)) == 30_029
    assert fast.read_bytes() == reference.read_bytes()
    assert marks == [10_000, 20_000, 30_000]
    table = list(csv.reader(io.StringIO(fast.read_bytes().decode(), newline="")))
    assert table[1:7] == [["1", "succeeded", "2", "", "1"], ["2", "failed", "", "Simulated failure for value 2", "3"],
                          ["3", "succeeded", "6", "", "2"], ["3", "succeeded", "6", "", "1"],
                          ["4", "failed", "", 'bad "4", or\nworse', "1"], ["5", "cancelled", "", "", "0"]]
    assert table[7:12] == [["10", "succeeded", "20", "", "1"], ["11", "failed", "", "failed, value 11", "3"],
                           ["12", "succeeded", "24", "", "2"], ["13", "failed", "", 'the "value" 13 13', "2"],
                           ["14", "cancelled", "", "", "2"]]
    assert table[16:21] == [["20", "succeeded", '{"a":[1,"x,y"]}', "", "1"],
                            ["21", "failed", "", "line one\r\nline two", "2"],
                            ["22", "succeeded", '"é\\"q\\""', "", "1"], ["23", "succeeded", "true", "", "1"],
                            ["24", "succeeded", "[1.5,null]", "", "1"]]
    assert table[21:31] == [["30", "cancelled", "", "", "0"], ["31", "cancelled", "", "", "0"],
                            ["40", "cancelled", "", "", "0"], ["41", "cancelled", "", "", "0"],
                            ["50", "failed", "", 'batch failed: "timeout", giving up', "1"],
                            ["51", "failed", "", 'batch failed: "timeout", giving up', "1"],
                            ["60", "failed", "", "no result", "1"], ["61", "succeeded", "122", "", "1"],
                            ["62", "failed", "", "no result", "1"], ["100", "succeeded", "200", "", "1"]]
