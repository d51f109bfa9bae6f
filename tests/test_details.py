"""The Details modal (issue 25) end to end: signed Slack requests to the real bot, real Temporal runs, and the strict
fake Slack, which validates every view as Slack does (at most 100 blocks, 250 KB, 3,000 characters of metadata),
checks its hash on views.update and keeps the 3-view stack. A running run, a finished one, a cancelled one, a
batched one, a run of a million values and a terminal run; paging, filters and Refresh; a child's story with
retries; another channel's refusal; what each page costs in Temporal calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DeleteWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from devkit.fake_slack.blockkit import view_problems, view_size_too_large
from devkit.fake_slack.requests import post_signed, view_action_body
from tests.conftest import SIGNING_SECRET, BotUnderTest
from tests.entrypoints import run as run_process
from tests.slack_asks import (
    click_in_modal,
    command,
    details_modal,
    fresh_trigger,
    modal_text,
    new_channel,
    text_of,
    view_as_sent,
)
from tests.test_bot_e2e import run_command, wait_summary
from tests.test_cli import CLI, cli_env


async def started(bot: BotUnderTest, text: str, channel: str) -> tuple[str, str]:
    """Run ``text`` in ``channel``: (run id, its message's ts)."""
    _, _, _, message = await run_command(bot, text, channel=channel)
    return str(message.metadata["event_payload"]["workflow_id"]), message.ts


def buttons(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every button of a view by action id (accessories included)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for block in record["view"]["blocks"]:
        for element in [*(block.get("elements") or []), *([block["accessory"]] if "accessory" in block else [])]:
            if element.get("type") == "button":
                found.setdefault(element["action_id"], []).append(element)
    return found


def lines(record: dict[str, Any]) -> list[str]:
    """The page's children or batches: the sections after the filters."""
    blocks = record["view"]["blocks"]
    start = next(i for i, b in enumerate(blocks) if b["type"] == "actions"
                 and any(e["action_id"] == "fanout_details_go:all" for e in b["elements"]))
    out = []
    for block in blocks[start + 1:]:
        if block["type"] != "section" or block["text"]["text"].startswith("```"):
            break
        out.append(block["text"]["text"])
    return out


def within_slacks_limits(record: dict[str, Any]) -> None:
    view = record["view"]
    assert not view_problems(view, "modal") and not view_size_too_large(view)
    assert len(view["blocks"]) <= 100 and len(view.get("private_metadata", "")) <= 3000


@contextmanager
def temporal_calls(bot: BotUnderTest) -> Iterator[Counter[str]]:
    """The Temporal calls the bot's commands make meanwhile, by RPC (its workers have clients of their own)."""
    service = bot.bot.gateway._client.service_client  # type: ignore[attr-defined]
    calls: Counter[str] = Counter()
    real = service._rpc_call

    async def counted(rpc: str, *args: Any, **kwargs: Any) -> Any:
        calls[rpc] += 1
        return await real(rpc, *args, **kwargs)

    service._rpc_call = counted
    try:
        yield calls
    finally:
        del service._rpc_call


# -- a finished run ------------------------------------------------------------------------------------------------

async def test_a_finished_run_its_children_by_value_filters_timeline_and_a_story_with_retries(
        bot: BotUnderTest) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1 2 2 3 --retries 2", channel)  # value 2 twice: #1 and #2
    summary = await wait_summary(bot, channel, ts)
    assert any(e["action_id"] == "fanout_details" for b in summary.blocks if b["type"] == "actions"
               for e in b["elements"])
    record = await details_modal(bot, run_id, channel)
    within_slacks_limits(record)
    text = modal_text(record)
    assert f"<@U1> ran `/fanout 1 2 2 3 --retries 2` in <#{channel}>" in text
    assert "*Status*\\nCompleted" in text and "`even`" in text and "up to 2 attempts" in text
    assert "✓ 2 succeeded · ✗ 2 failed of 4" in text
    assert lines(record)[0].startswith("*1* ✓ succeeded → 2 · 1 attempt · ")
    assert lines(record)[1].startswith("*2 #1* ✗ failed · 2 attempts · ")
    assert lines(record)[1].endswith("_SimulatedFailure_: Simulated failure for value 2")
    assert lines(record)[2].startswith("*2 #2* ✗ failed") and lines(record)[3].startswith("*3* ✓ succeeded → 6")
    assert [b["value"] for b in buttons(record)["fanout_details_open_child"]] == ["1", "2"]  # failed and retried
    timeline = json.loads(text)["blocks"][-1]["text"]["text"]
    assert timeline.startswith("```Timeline · wall") and "\n2 #1 " in timeline and "#0" not in timeline  # by value

    failed = await click_in_modal(bot, record, "fanout_details_go:failed")
    assert [line.split(" ✗")[0] for line in lines(failed)] == ["*2 #1*", "*2 #2*"]
    retried = await click_in_modal(bot, record, "fanout_details_go:retried")
    assert len(lines(retried)) == 2 and "Retried (2)" in modal_text(retried)
    running = await click_in_modal(bot, record, "fanout_details_go:running")
    assert lines(running) == [] and "Nothing is running: the run has ended." in modal_text(running)
    assert json.loads(record["view"]["private_metadata"]) == {"r": run_id, "c": channel, "s": "running"}

    story = await click_in_modal(bot, record, "fanout_details_open_child", "1")  # views.push over the modal
    assert story["method"] == "views.push" and story["previous_view_id"] == record["id"]
    within_slacks_limits(story)
    told = modal_text(story)
    assert f"*Value 2 #1* · child `{run_id}-c1`" in told and "each attempt is a new run of the same child id" in told
    assert told.count("Simulated failure for value 2") == 2 and "then a 1 s backoff before attempt 2" in told
    assert "attempt 1 started" in told and "attempt 2 started" in told
    assert "*Final:* failed on attempt 2: its last allowed attempt failed" in told
    assert not {"fanout_details_open_child", "fanout_details_open_batch"} & set(buttons(story))  # never pushes

    typed = await details_modal(bot, run_id, channel, command=True)  # /fanout details <id>: the same modal
    assert lines(typed) == lines(await click_in_modal(bot, record, "fanout_details_go:all"))


async def test_a_click_on_a_view_changed_since_loses_to_the_newer_change(bot: BotUnderTest) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-3", channel)
    await wait_summary(bot, channel, ts)
    record = await details_modal(bot, run_id, channel)
    stale = view_as_sent(record)
    await click_in_modal(bot, record, "fanout_details_go:failed")  # the view changed: a new hash
    updates = record["updates"]
    body = view_action_body("fanout_details_go:all", "all", stale, trigger_id=fresh_trigger())
    status, _, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and elapsed < 3.0
    await bot.fake.wait_for(lambda: any(c.error == "hash_conflict" for c in bot.fake.calls_to("views.update")))
    assert record["updates"] == updates and '"s":"failed"' in record["view"]["private_metadata"]


# -- the run's channel, and no other ---------------------------------------------------------------------------------

async def test_another_channel_gets_the_answer_an_unknown_id_gets(bot: BotUnderTest) -> None:
    channel, elsewhere = new_channel(), new_channel()
    run_id, ts = await started(bot, "1 2", channel)
    await wait_summary(bot, channel, ts)
    refused = modal_text(await details_modal(bot, run_id, elsewhere))
    unknown = modal_text(await details_modal(bot, "fanout-000000000000", elsewhere))
    assert "No run `" in refused and refused.replace(run_id, "fanout-000000000000") == unknown
    assert "Completed" not in refused and "<@U1>" not in refused
    # A modal's buttons carry no channel: its metadata does, and every action checks it again. A view whose
    # metadata names another channel (as a modal of another run would) reads nothing of this run.
    record = await details_modal(bot, run_id, channel)
    forged = {**view_as_sent(record), "private_metadata": json.dumps({"r": run_id, "c": elsewhere})}
    moved = await click_in_modal(bot, record, "fanout_details_go:refresh", view=forged)
    assert "No run `" in modal_text(moved) and "Completed" not in modal_text(moved)


# -- a running run, then Refresh ---------------------------------------------------------------------------------

async def test_a_running_run_pages_by_position_and_refresh_shows_it_ended(bot: BotUnderTest) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-25 --delay 6-7", channel)
    with temporal_calls(bot) as calls:
        record = await details_modal(bot, run_id, channel)
    # Finding the run (two describes), its request (one event), its progress (one query), one visibility list.
    assert calls == {"describe_workflow_execution": 2, "get_workflow_execution_history": 1,
                     "query_workflow": 1, "list_workflow_executions": 1}, calls
    within_slacks_limits(record)
    text = modal_text(record)
    assert "*Status*\\nRunning" in text and "so far" in text and "*Children* · all · 1–20 of 25" in text
    assert all("🔄 running" in line or "· not started" in line for line in lines(record)), lines(record)
    assert lines(record)[0].startswith("*1* ") and "Still running (" in text
    second = await click_in_modal(bot, record, "fanout_details_go:next")
    assert "21–25 of 25" in modal_text(second) and lines(second)[0].startswith("*21* ")
    assert "Next ▶" not in modal_text(second)
    first = await click_in_modal(bot, record, "fanout_details_go:prev")
    assert "1–20 of 25" in modal_text(first) and lines(first)[0].startswith("*1* ")
    still = await click_in_modal(bot, record, "fanout_details_go:running")
    assert 1 <= len(lines(still)) <= 20 and all("🔄 running" in line for line in lines(still))
    await wait_summary(bot, channel, ts, timeout=60)
    done = await click_in_modal(bot, record, "fanout_details_go:refresh")  # the same filter, now from the result
    assert "*Status*\\nCompleted" in modal_text(done) and lines(done) == []
    everything = await click_in_modal(bot, record, "fanout_details_go:all")
    assert "*1* ✓ succeeded → 2" in lines(everything)[0] and "Timeline" in modal_text(everything)


# -- a cancelled run ---------------------------------------------------------------------------------------------

async def test_a_cancelled_run_shows_what_ran_and_what_never_started(bot: BotUnderTest) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-6 --delay 1.5 --sequential", channel)
    await asyncio.sleep(2.5)  # a child or two done, the rest never started
    assert "Cancelling" in text_of(await command(bot, f"cancel {run_id}", channel))
    await wait_summary(bot, channel, ts)
    record = await details_modal(bot, run_id, channel)
    text = modal_text(record)
    assert "*Status*\\nCancelled" in text and "⏹" in text
    shown = lines(record)
    assert shown[0].startswith("*1* ✓ succeeded → 2") and shown[-1] == "*6* · not started"
    assert any("⏹ cancelled" in line for line in shown)


# -- a run that ended without a result ---------------------------------------------------------------------------

async def test_a_run_terminated_in_temporal_is_listed_from_visibility(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-4 --delay 30", channel)
    for _ in range(100):  # its four children have started
        if len([w async for w in client.list_workflows(f"ParentWorkflowId = '{run_id}'")]) == 4:
            break
        await asyncio.sleep(0.1)
    await client.get_workflow_handle(run_id).terminate("stopped from the Temporal UI")
    await wait_summary(bot, channel, ts)
    with temporal_calls(bot) as calls:
        record = await details_modal(bot, run_id, channel)
    assert "query_workflow" not in calls  # a closed run is never queried: a query would replay its history
    text = modal_text(record)
    assert "*Status*\\nTerminated" in text and "from its last progress: it ended without a result" in text
    assert "The run ended without a result" in text and "*Children* · all · 1–4 of 4" in text
    assert all(" ⏹ cancelled" in line for line in lines(record)), lines(record)  # asked to cancel as it closed


# -- batches ----------------------------------------------------------------------------------------------------

async def test_a_batched_run_lists_its_batches_with_their_counts_and_a_batch_opens_to_its_failures(
        bot: BotUnderTest) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-100 --batch 10 --fail mod:30", channel)  # 30, 60, 90 fail
    await wait_summary(bot, channel, ts)
    record = await details_modal(bot, run_id, channel)
    within_slacks_limits(record)
    shown = lines(record)
    assert "*Batches* · all · 1–10 of 10" in modal_text(record) and "batches of 10" in modal_text(record)
    assert shown[0].startswith("*Batch 0* · values 1-10 (10)\n✓ 10 · ✗ 0")
    assert shown[2].startswith("*Batch 2* · values 21-30 (10)\n✓ 9 · ✗ 1")
    assert [b["value"] for b in buttons(record)["fanout_details_open_batch"]] == ["2", "5", "8"]
    failed = await click_in_modal(bot, record, "fanout_details_go:failed")
    assert [line.split(" ·")[0] for line in lines(failed)] == ["*Batch 2*", "*Batch 5*", "*Batch 8*"]
    batch = await click_in_modal(bot, record, "fanout_details_open_batch", "5")
    assert batch["method"] == "views.push"
    within_slacks_limits(batch)
    told = modal_text(batch)
    assert "*Batch 5* of run" in told and "values 51-60 (10)" in told and "✓ 9 succeeded · ✗ 1 failed" in told
    assert "*60* _SimulatedFailure_: Simulated failure for value 60" in told
    assert "Values inside a batch have no history of their own" in told
    assert not {"fanout_details_open_child", "fanout_details_open_batch"} & set(buttons(batch))


# -- a million values -------------------------------------------------------------------------------------------

async def test_a_million_values_within_slacks_limits_and_the_cost_bound(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1-1000000", channel)  # 100 batches of 10,000 in 4 shards; even values fail
    await wait_summary(bot, channel, ts, timeout=180)
    figures: list[str] = []
    with temporal_calls(bot) as calls:
        began = time.monotonic()
        record = await details_modal(bot, run_id, channel)
        figures.append(f"first page {time.monotonic() - began:.2f} s")
    # Finding it (two describes), its request (its first event), its result (one read): no list, no query.
    assert calls == {"describe_workflow_execution": 2, "get_workflow_execution_history": 2}, calls
    within_slacks_limits(record)
    size = len(json.dumps(record["view"], separators=(",", ":")).encode())
    assert size < 250 * 1024 and len(record["view"]["blocks"]) <= 100
    assert len(record["view"]["private_metadata"]) <= 3000
    figures.append(f"{size:,} bytes, {len(record['view']['blocks'])} blocks")
    text = modal_text(record)
    assert "1,000,000 values in 100 child workflows (batches of 10,000, 4 shards)" in text
    assert "✓ 500,000 succeeded · ✗ 500,000 failed of 1,000,000" in text
    assert lines(record)[0].startswith("*Batch 0* · values 1-10000 (10,000)\n✓ 5,000 · ✗ 5,000")
    last = await click_in_modal(bot, record, "fanout_details_go:next")
    for _ in range(3):
        last = await click_in_modal(bot, record, "fanout_details_go:next")
    assert lines(last)[-1].startswith("*Batch 99* · values 990001-1000000 (10,000)") and "81–100 of 100" in \
        modal_text(last)
    with temporal_calls(bot) as calls:
        began = time.monotonic()
        batch = await click_in_modal(bot, record, "fanout_details_open_batch", "99")
        figures.append(f"a batch's failures {time.monotonic() - began:.2f} s")
    # One batch result decoded: the batch's last event, read alone (beside finding the run and its request).
    assert calls == {"describe_workflow_execution": 2, "get_workflow_execution_history": 1,
                     "get_workflow_execution_history_reverse": 1}, calls
    within_slacks_limits(batch)
    told = modal_text(batch)
    assert "✓ 5,000 succeeded · ✗ 5,000 failed" in told and "1–50 of 5,000" in told
    assert "*990002* _SimulatedFailure_: Simulated failure for value 990002" in told
    more = await click_in_modal(bot, batch, "fanout_details_go:next")
    assert "51–100 of 5,000" in modal_text(more) and "*990102* " in modal_text(more)
    within_slacks_limits(more)
    print("1,000,000 values:", "; ".join(figures))


# -- gone -------------------------------------------------------------------------------------------------------

async def test_a_history_retention_removed_is_said_to_be_gone(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run_id, ts = await started(bot, "1 2 --retries 3", channel)  # value 2: three runs of its child id
    other_id, other_ts = await started(bot, "5 6", channel)
    await wait_summary(bot, channel, ts)
    await wait_summary(bot, channel, other_ts)
    record = await details_modal(bot, run_id, channel)
    other = await details_modal(bot, other_id, channel)
    retried = f"{run_id}-c1"
    first_run = (await client.get_workflow_handle(retried).describe()).raw_description.workflow_execution_info
    # Retention removes each run on its own clock: a retried child's earliest runs first, then the child, then the
    # run itself (its reporter closes after it). The dev server deletes ~20 s after being asked: all at once.
    await asyncio.gather(delete(client, retried, first_run.first_run_id), delete(client, f"{run_id}-c0", ""),
                         delete(client, other_id, ""))
    story = await click_in_modal(bot, record, "fanout_details_open_child", "1")
    told = modal_text(story)
    assert "attempt 1: history gone (retention removed those runs)" in told
    assert "attempt 1 failed: _SimulatedFailure_: Simulated failure for value 2" in told  # what attempt 2 kept
    assert "attempt 2 started" in told and "*Final:* failed on attempt 3" in told
    whole = await click_in_modal(bot, record, "fanout_details_open_child", "0")
    assert "Its history is gone: Temporal removed it once the namespace's retention period" in modal_text(whole)
    gone = await click_in_modal(bot, other, "fanout_details_go:refresh")
    assert f"The history of run `{other_id}` is gone" in modal_text(gone)


async def delete(client: Client, workflow_id: str, run_id: str) -> None:
    """What retention does to a closed run: DeleteWorkflowExecution, which the server carries out later."""
    await client.workflow_service.delete_workflow_execution(DeleteWorkflowExecutionRequest(
        namespace=client.namespace, workflow_execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)))
    handle = client.get_workflow_handle(workflow_id, run_id=run_id or None)
    for _ in range(600):
        try:
            await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return
            raise
        await asyncio.sleep(0.2)
    raise AssertionError(f"{workflow_id} {run_id} not deleted")


# -- the terminal ------------------------------------------------------------------------------------------------

async def test_a_terminal_run_in_the_terminal_and_not_in_any_channel(bot: BotUnderTest, temporal_address: str,
                                                                     task_queue: str) -> None:
    env = cli_env(temporal_address, task_queue)
    code, out, err = await run_process([*CLI, "1", "2", "3", "--retries", "2"], env)
    assert code == 0, err
    run_id = err.split()[1].rstrip(":")
    code, out, err = await run_process([*CLI, "details", run_id], env)
    assert code == 0, err
    assert out.startswith("── Run details ──") and "ran `fanout 1 2 3 --retries 2` in a terminal" in out
    assert "Completed" in out and "up to 2 attempts" in out and "2 succeeded" in out
    assert "2 ✗ failed · 2 attempts" in out and "Simulated failure for value 2" in out
    assert "Timeline · wall" in out and "[Refresh]" not in out and "<" not in out and "*" not in out
    assert f"Open in Temporal UI: http://localhost:8233/namespaces/default/workflows/{run_id}\n" in out
    # Each button, as the command a terminal types in its place.
    assert "  All (3): --show all · Failed (1): --show failed · Retried (1): --show retried" in out
    assert f"Simulated failure for value 2\n  ↳ its story: fanout details {run_id} --child 1\n" in out
    code, out, err = await run_process([*CLI, "details", run_id, "--show", "failed"], env)
    assert code == 0 and "Children · failed · 1–1 of 1" in out and "✓ succeeded" not in out
    code, out, err = await run_process([*CLI, "details", run_id, "--child", "1"], env)
    assert code == 0 and out.startswith("── A child's story ──\nValue 2 · child") and "then a 1 s backoff" in out
    assert "attempt 2 failed after" in out and "Final: failed on attempt 2" in out
    code, _, err = await run_process([*CLI, "details", run_id, "--page", "2"], env)
    assert code == 1 and err.startswith(f"fanout: run {run_id} has no page 2 of all")
    for wrong in (["--child", "x"], ["--show", "odd"], ["--child", "1", "--batch", "0"], ["--page"]):
        code, _, err = await run_process([*CLI, "details", run_id, *wrong], env)
        assert code == 2 and "usage: fanout details <run-id>" in err, wrong
    code, _, err = await run_process([*CLI, "details", "fanout-nosuchrun"], env)
    assert code == 1 and err.startswith("fanout: No run fanout-nosuchrun found in this namespace.")
    refused = modal_text(await details_modal(bot, run_id, new_channel()))  # no channel's run
    assert f"No run `{run_id}` found in this channel" in refused


async def test_the_terminal_pages_through_children_and_a_batchs_failures(temporal_address: str,
                                                                        task_queue: str) -> None:
    env = cli_env(temporal_address, task_queue)
    code, _, err = await run_process([*CLI, "1-25", "--fail", "none"], env)
    assert code == 0, err
    run_id = err.split()[1].rstrip(":")
    code, out, err = await run_process([*CLI, "details", run_id], env)
    assert code == 0 and "Children · all · 1–20 of 25" in out
    assert f"  Next ▶: fanout details {run_id} --page 2\n" in out and "Previous" not in out
    code, out, err = await run_process([*CLI, "details", run_id, "--page", "2"], env)
    assert code == 0 and "Children · all · 21–25 of 25" in out and "\n25 ✓ succeeded → 50" in out
    assert f"  ◀ Previous: fanout details {run_id} --page 1\n" in out and "Next" not in out
    code, _, err = await run_process([*CLI, "1-100", "--batch", "10", "--fail", "mod:30"], env)
    assert code == 0, err
    batched = err.split()[1].rstrip(":")
    code, out, err = await run_process([*CLI, "details", batched, "--show", "failed"], env)
    assert code == 0 and "Batches · failed" in out
    assert f"  ↳ its failures: fanout details {batched} --batch 5\n" in out
    code, out, err = await run_process([*CLI, "details", batched, "--batch", "5"], env)
    assert code == 0 and out.startswith("── Batch failures ──\nBatch 5 of run")
    assert "60 SimulatedFailure: Simulated failure for value 60" in out

