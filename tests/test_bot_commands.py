"""Every /fanout command, option, subcommand and button, end to end: signed Slack requests over HTTP ->
the real Bolt app -> the real Temporal dev server and worker -> the fake Slack Web API.

Each test uses channels of its own (the fake Slack and the dev server are shared by the session), and each
request its own response_url, so private answers are told apart however tests interleave.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from devkit.fake_slack.requests import block_actions_body, post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage
from tests.conftest import SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests
from workflows.model import FanoutResult

INTERVAL = 0.5  # progress_interval_s of the session's bot (settings_for_tests)
_keys = itertools.count(1)


# -- helpers -----------------------------------------------------------------------------------------------------


def new_channel() -> str:
    return "C" + uuid.uuid4().hex[:9].upper()


@dataclass
class Sent:
    status: int
    body: str
    elapsed: float
    key: str  # the response_url key: private answers to this request
    at: float  # time.monotonic() when sent

    @property
    def ack(self) -> dict[str, Any]:
        return json.loads(self.body) if self.body else {}


async def command(bot: BotUnderTest, text: str, channel: str, *, user: str = "U1") -> Sent:
    key = f"k{next(_keys)}"
    body = slash_command_body(text, user_id=user, channel_id=channel, response_url=bot.fake.response_url(key),
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    at = time.monotonic()
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    return Sent(status, answer, elapsed, key, at)


async def click(bot: BotUnderTest, action_id: str, value: str, channel: str, *, message_ts: str,
                thread_ts: str | None = None, user: str = "U1") -> Sent:
    key = f"k{next(_keys)}"
    body = block_actions_body(action_id, value, user_id=user, channel_id=channel, message_ts=message_ts,
                              response_url=bot.fake.response_url(key), container_thread_ts=thread_ts,
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    at = time.monotonic()
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    return Sent(status, answer, elapsed, key, at)


def answers(fake: FakeSlack, sent: Sent) -> list[dict[str, Any]]:
    return [r for r in fake.responses if r["key"] == sent.key]


async def private_answer(fake: FakeSlack, sent: Sent, timeout: float = 3.0) -> dict[str, Any]:
    """The private answer posted to the request's response_url, which must come within ``timeout`` of sending."""
    await fake.wait_for(lambda: answers(fake, sent), timeout=max(timeout - (time.monotonic() - sent.at), 0.05))
    answer = answers(fake, sent)[0]
    assert answer.get("response_type") == "ephemeral" and answer.get("replace_original") in (False, None, "false")
    return answer


def rendered(obj: Any) -> str:
    if isinstance(obj, PostedMessage):
        return obj.text + json.dumps(obj.blocks, ensure_ascii=False)
    return json.dumps(obj, ensure_ascii=False)


def runs(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def summaries(fake: FakeSlack, channel: str, thread_ts: str) -> list[PostedMessage]:
    return [m for m in fake.thread(channel, thread_ts) if (m.metadata or {}).get("event_type") == "fanout_summary"]


def run_id(message: PostedMessage) -> str:
    return str(message.metadata["event_payload"]["workflow_id"])  # type: ignore[index]


def buttons(message: PostedMessage) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in message.blocks if b["type"] == "actions" for e in b["elements"]}


async def start(bot: BotUnderTest, text: str, channel: str, *, user: str = "U1") -> tuple[PostedMessage, Sent]:
    """Send a command that starts a run; returns the run's message in the channel."""
    before = len(runs(bot.fake, channel))
    sent = await command(bot, text, channel, user=user)
    assert sent.status == 200 and sent.elapsed < 3.0 and sent.body == "", sent.body
    await bot.fake.wait_for(lambda: len(runs(bot.fake, channel)) > before, timeout=15)
    return runs(bot.fake, channel)[before], sent


async def summary_of(bot: BotUnderTest, channel: str, run: PostedMessage, timeout: float = 30) -> PostedMessage:
    await bot.fake.wait_for(lambda: summaries(bot.fake, channel, run.ts), timeout=timeout)
    found = summaries(bot.fake, channel, run.ts)
    return next(m for m in found if m.metadata["event_payload"]["workflow_id"] == run_id(run))  # type: ignore[index]


async def run_to_end(bot: BotUnderTest, text: str) -> tuple[PostedMessage, PostedMessage, dict[str, Any]]:
    """Start ``text`` in a channel of its own; returns (run message, summary, summary payload)."""
    channel = new_channel()
    run, _ = await start(bot, text, channel)
    summary = await summary_of(bot, channel, run)
    return run, summary, summary.metadata["event_payload"]  # type: ignore[index]


def counts(payload: dict[str, Any]) -> tuple[int, int, int]:
    return payload["total_children"], payload["success_count"], payload["failure_count"]


async def result_of(client: Client, workflow_id: str) -> FanoutResult:
    return await client.get_workflow_handle(workflow_id, result_type=FanoutResult).result()


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def child_status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    try:
        return (await client.get_workflow_handle(workflow_id).describe()).status
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


def assert_private_error(answer: dict[str, Any], *must: str) -> None:
    text = rendered(answer)
    assert answer.get("response_type") == "ephemeral", answer
    for part in must:
        assert part in text, (part, text)


# -- options -----------------------------------------------------------------------------------------------------


async def test_fail_rules_through_slack(bot: BotUnderTest) -> None:
    cases = {
        "1-6 --fail odd": ((6, 3, 3), [1, 3, 5], "Simulated failure for value 1"),
        "1-4 --fail none": ((4, 4, 0), [], "4 → 8"),
        "1-9 --fail mod:3": ((9, 6, 3), [3, 6, 9], "Simulated failure for value 6"),
        "1-5 --fail rate:1": ((5, 0, 5), [1, 2, 3, 4, 5], "Random failure for value 3"),
        "1-5 --fail rate:0": ((5, 5, 0), [], "5 → 10"),
    }
    results = await asyncio.gather(*(run_to_end(bot, text) for text in cases))
    for (text, (expected, failed, snippet)), (_, summary, payload) in zip(cases.items(), results, strict=True):
        assert counts(payload) == expected, text
        body = rendered(summary)
        assert snippet in body, text
        listed = sorted(int(v) for v in re.findall(r"(\d+): (?:Simulated|Random) failure", body))
        assert listed == failed, text
        if failed:
            assert f"Retry failed ({len(failed)})" in body
        else:
            assert "fanout_retry" not in body


async def test_retries_show_attempts(bot: BotUnderTest, client: Client) -> None:
    run, summary, payload = await run_to_end(bot, "1-4 --retries 2")
    assert counts(payload) == (4, 2, 2)  # even values fail on every attempt
    body = rendered(summary)
    assert "2: Simulated failure for value 2 (2 attempts)" in body
    assert "4: Simulated failure for value 4 (2 attempts)" in body
    assert "1 → 2" in body and "1 → 2 (" not in body  # one attempt: no count shown
    assert "up to 2 attempts each" in rendered(run)
    result = await result_of(client, run_id(run))
    assert {f.value: f.attempts for f in result.failed_children} == {2: 2, 4: 2}


async def test_delays_sequential_and_parallel_timing(bot: BotUnderTest, client: Client) -> None:
    (par, par_summary, par_payload), (rng, _, rng_payload), (seq, seq_summary, seq_payload) = await asyncio.gather(
        run_to_end(bot, "1-4 --delay 0.3 --fail none"),
        run_to_end(bot, "1-3 --delay 0.1-0.3"),
        run_to_end(bot, "1-3 --delay 0.3 --sequential --fail none"),
    )
    assert counts(par_payload) == (4, 4, 0) and counts(rng_payload) == (3, 2, 1) and counts(seq_payload) == (3, 3, 0)
    parallel, ranged, sequential = [await result_of(client, run_id(m)) for m in (par, rng, seq)]
    assert all(
        0.3 - 0.05 <= (s.end_ms - s.start_ms) / 1000 for s in parallel.spans
    ), "each child sleeps its delay on a durable timer"
    assert all(0.1 - 0.05 <= (s.end_ms - s.start_ms) / 1000 for s in ranged.spans)
    assert sequential.wall_s >= 0.9 and sequential.sequential
    assert "sequential" in rendered(seq) and "sequential" in rendered(seq_summary)
    assert "faster than one after another" not in rendered(seq_summary)
    assert "× faster than one after another" in rendered(par_summary) and "Wall time" in rendered(par_summary)
    # Sequential children never overlap; parallel ones do.
    spans = sorted(sequential.spans, key=lambda s: s.start_ms)
    assert all(a.end_ms <= b.start_ms for a, b in itertools.pairwise(spans))
    spans = sorted(parallel.spans, key=lambda s: s.start_ms)
    assert any(b.start_ms < a.end_ms for a, b in itertools.pairwise(spans))


async def test_batch_and_child_type(bot: BotUnderTest, client: Client) -> None:
    (batch, batch_summary, batch_payload), (_, square_summary, square_payload) = await asyncio.gather(
        run_to_end(bot, "1-10 --batch 3"),
        run_to_end(bot, "1-4 --child square --fail none"),
    )
    assert counts(batch_payload) == (10, 5, 5)
    assert "batches of 3" in rendered(batch) and "*4* child workflows" in rendered(batch)
    assert "batches of 3" in rendered(batch_summary) and "9 → 18" in rendered(batch_summary)
    wf = run_id(batch)
    assert [await child_status(client, f"{wf}-b{i}") for i in range(5)] == [WorkflowExecutionStatus.COMPLETED] * 4 + [
        None
    ]
    assert counts(square_payload) == (4, 4, 0)
    assert all(f"{v} → {v * v}" in rendered(square_summary) for v in (1, 2, 3, 4))


async def test_scenarios(bot: BotUnderTest) -> None:
    (_, ok, ok_p), (_, bad, bad_p), (large, big, big_p) = await asyncio.gather(
        run_to_end(bot, "scenario all-success"),
        run_to_end(bot, "scenario all-failures"),
        run_to_end(bot, "scenario large-scale"),
    )
    assert counts(ok_p) == (5, 5, 0) and ok_p["success_rate"] == 1.0
    assert all(f"{v} → {2 * v}" in rendered(ok) for v in (1, 3, 5, 7, 9)) and "All 5 succeeded" in rendered(ok)
    assert counts(bad_p) == (4, 0, 4) and bad_p["success_rate"] == 0
    assert all(f"Simulated failure for value {v}" in rendered(bad) for v in (2, 4, 6, 8))
    assert counts(big_p) == (15, 8, 7) and "*15* values" in rendered(large)
    assert "15 → 30" in rendered(big) and "14: Simulated failure for value 14" in rendered(big)


async def test_value_limit_is_refused_privately(fake_slack: FakeSlack, task_queue: str,
                                                temporal_address: str) -> None:
    async with serve_bot(settings_for_tests(fake_slack.base_url, task_queue, max_values=10), fake_slack,
                         temporal_address) as small:
        channel = new_channel()
        for text in ("1-11", "scenario large-scale", "1-5 7-12"):
            sent = await command(small, text, channel)
            assert sent.status == 200 and sent.elapsed < 3.0
            assert_private_error(sent.ack, "the limit is 10 per run", "FANOUT_MAX_VALUES")
        run, _ = await start(small, "1-10 --fail none", channel)  # at the limit is fine
        assert (await summary_of(small, channel, run)).metadata["event_payload"]["total_children"] == 10
        assert len(runs(fake_slack, channel)) == 1


# -- subcommands ---------------------------------------------------------------------------------------------------


async def test_status_running_finished_and_unknown(bot: BotUnderTest) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-4 --delay 0.5-4 --fail none", channel)
    wf = run_id(run)
    await asyncio.sleep(1.0)
    sent = await command(bot, f"status {wf}", channel)
    assert sent.status == 200 and sent.elapsed < 3.0 and sent.body == ""
    running = rendered(await private_answer(bot.fake, sent))
    assert "Running" in running and " done · " in running and "running" in running and "%" in running

    await summary_of(bot, channel, run)
    sent = await command(bot, f"status {wf}", channel)
    finished = rendered(await private_answer(bot.fake, sent))
    assert "Completed" in finished and "4 succeeded · 0 failed of 4" in finished and "Wall time" in finished

    sent = await command(bot, "status fanout-doesnotexist", channel)
    assert_private_error(await private_answer(bot.fake, sent), "No run `fanout-doesnotexist` found", "/fanout status")


async def test_cancel_command_cancels_children_and_records_who(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-4 --delay 30 --fail none", channel, user="U2")
    wf = run_id(run)
    await wait_until(lambda: _all_children_running(client, wf, 4), 15, "children to start")
    # Someone else in the channel may not (FANOUT_CANCEL_POLICY=starter, the default): told privately who can.
    sent = await command(bot, f"cancel {wf}", channel, user="U3")
    assert sent.status == 200 and sent.elapsed < 3.0
    assert_private_error(await private_answer(bot.fake, sent), "Only <@U2> (who started it) can cancel")
    assert (await client.get_workflow_handle(wf).describe()).status == WorkflowExecutionStatus.RUNNING

    sent = await command(bot, f"cancel {wf}", channel, user="U2")
    assert sent.status == 200 and sent.elapsed < 3.0
    assert "Cancelling" in rendered(await private_answer(bot.fake, sent))

    summary = await summary_of(bot, channel, run)
    payload = summary.metadata["event_payload"]  # type: ignore[index]
    assert payload["status"] == "cancelled" and payload["cancelled_count"] == 4 and payload["success_count"] == 0
    assert "Cancelled by <@U2>" in rendered(summary)
    assert [await child_status(client, f"{wf}-c{i}") for i in range(4)] == [WorkflowExecutionStatus.CANCELED] * 4

    # The audit trail: who started it where, on its reporter; who cancelled it, on both.
    memo = await (await client.get_workflow_handle(f"{wf}-slack").describe()).memo()
    assert memo["slack_user"] == "U2" and memo["slack_channel"] == channel and memo["cancelled_by"] == "U2"
    assert memo["command_text"] == "1-4 --delay 30 --fail none"
    assert (await (await client.get_workflow_handle(wf).describe()).memo())["cancelled_by"] == "U2"

    sent = await command(bot, f"cancel {wf}", channel)
    assert_private_error(await private_answer(bot.fake, sent), f"`{wf}` is not running")
    sent = await command(bot, "cancel fanout-nosuchrun", channel)
    assert_private_error(await private_answer(bot.fake, sent), "No run `fanout-nosuchrun` found")


async def test_a_run_terminated_in_temporal_is_reported_in_its_thread(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-3 --delay 30", channel)
    wf = run_id(run)
    await wait_until(lambda: _all_children_running(client, wf, 3), 15, "children to start")
    await client.get_workflow_handle(wf).terminate(reason="stopped by an operator")
    ended = await summary_of(bot, channel, run)
    assert ended.metadata["event_payload"]["status"] == "terminated"  # type: ignore[index]
    assert "Run terminated in Temporal" in rendered(ended) and "fanout_retry" not in rendered(ended)
    await bot.fake.wait_for(lambda: "terminated" in rendered(_current(bot.fake, channel, run.ts)), timeout=10)
    assert "fanout_cancel" not in buttons(_current(bot.fake, channel, run.ts))
    sent = await command(bot, f"status {wf}", channel)
    assert "Terminated" in rendered(await private_answer(bot.fake, sent))
    await asyncio.sleep(INTERVAL * 2)
    assert len(summaries(bot.fake, channel, run.ts)) == 1


async def _all_children_running(client: Client, wf: str, n: int) -> bool:
    return all([await child_status(client, f"{wf}-c{i}") == WorkflowExecutionStatus.RUNNING for i in range(n)])


async def test_list_shows_this_channels_runs_from_visibility(bot: BotUnderTest) -> None:
    here, elsewhere = new_channel(), new_channel()
    (a, _), (b, _), (other, _) = await asyncio.gather(
        start(bot, "1 2", here), start(bot, "3 --fail none", here), start(bot, "5", elsewhere)
    )
    ids = {run_id(a), run_id(b)}
    deadline = time.monotonic() + 20
    while True:  # visibility is eventually consistent
        sent = await command(bot, "list", here)
        assert sent.status == 200 and sent.elapsed < 3.0 and sent.body == ""
        text = rendered(await private_answer(bot.fake, sent))
        if all(i in text for i in ids) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert all(i in text for i in ids), text
    assert run_id(other) not in text
    assert "<@U1>" in text and "`1 2`" in text and f"<#{here}>" in text
    sent = await command(bot, "list", new_channel())
    assert "No `/fanout` runs in" in rendered(await private_answer(bot.fake, sent))


async def test_errors_are_private_escaped_and_say_how(bot: BotUnderTest) -> None:
    channel = new_channel()
    cases = {
        "status": "`status` needs a run id",
        "cancel a b": "takes one run id",
        "status <@U9>&x": "is not a run id",
        "scenario <!here>": "Unknown scenario",
        "1 2 --fail <!channel>": "unknown failure rule",
        "1 2 --retries 0": "`--retries` needs a whole number",
        "1 2 --delay 5-1": "`--delay` needs seconds",
        "1 2 --batch 0": "`--batch` needs at least 1",
        "1 2 --child cube": "No worker serves the child type",
        "list me": "`list` takes nothing",
        "1 & 2": "is not a number or a range",
    }
    for text, problem in cases.items():
        sent = await command(bot, text, channel)
        assert sent.status == 200 and sent.elapsed < 3.0, text
        # In the ack; a child type no worker served at the last read, after it (the ack never waits on Temporal).
        answer = sent.ack if "--child" not in text else await private_answer(bot.fake, sent)
        assert (sent.ack == {}) == ("--child" in text), text
        assert_private_error(answer, problem, "/fanout help")
        body = rendered(answer)
        assert "<!" not in body and "<@" not in body and "& " not in body.replace("&amp;", ""), body
    assert "&lt;!here&gt;" in rendered((await command(bot, "scenario <!here>", channel)).ack)
    await asyncio.sleep(0.3)
    assert not bot.fake.messages(channel)  # nothing started


# -- buttons -----------------------------------------------------------------------------------------------------


async def test_cancel_button_partial_results_and_final_message(bot: BotUnderTest, client: Client) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-30 --delay 0.3 --sequential --fail odd", channel)
    wf = run_id(run)
    cancel = buttons(run)["fanout_cancel"]
    assert cancel["value"] == wf and cancel["style"] == "danger" and "confirm" in cancel
    await wait_until(lambda: _finished_at_least(client, wf, 2), 15, "two children to finish")

    sent = await click(bot, "fanout_cancel", cancel["value"], channel, message_ts=run.ts, user="U1")
    assert sent.status == 200 and sent.elapsed < 3.0
    assert "Cancelling" in rendered(await private_answer(bot.fake, sent))

    summary = await summary_of(bot, channel, run)
    payload = summary.metadata["event_payload"]  # type: ignore[index]
    done = payload["success_count"] + payload["failure_count"]
    assert payload["status"] == "cancelled" and 2 <= done < 30 and payload["cancelled_count"] == 30 - done
    body = rendered(summary)
    assert "Cancelled by <@U1>" in body and "partial results" in body and "2 → 4" in body
    assert "Simulated failure for value 1" in body
    # The child running at the moment of the cancel was cancelled (unless the cancel fell between two
    # children); the rest never started.
    assert await child_status(client, f"{wf}-c{done}") in (WorkflowExecutionStatus.CANCELED, None)
    assert await child_status(client, f"{wf}-c{done + 1}") is None
    memo = await (await client.get_workflow_handle(wf).describe()).memo()
    assert memo["cancelled_by"] == "U1"

    await bot.fake.wait_for(lambda: "Cancelled by" in rendered(_current(bot.fake, channel, run.ts)), timeout=10)
    final = _current(bot.fake, channel, run.ts)
    assert "fanout_cancel" not in buttons(final) and "fanout_open_ui" in buttons(final)
    assert "Cancelled by <@U1>" in rendered(final) and "see thread" in rendered(final)


async def _finished_at_least(client: Client, wf: str, n: int) -> bool:
    """Sequential children: the n-th has finished, so n have."""
    finished = (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.FAILED)
    return await child_status(client, f"{wf}-c{n - 1}") in finished


def _current(fake: FakeSlack, channel: str, ts: str) -> PostedMessage:
    return next(m for m in fake.messages(channel) if m.ts == ts)


async def test_open_in_temporal_ui_is_a_link_and_its_click_is_acked(bot: BotUnderTest) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1 --fail none", channel)
    wf = run_id(run)
    button = buttons(run)["fanout_open_ui"]
    assert button["url"] == f"http://localhost:8233/namespaces/default/workflows/{wf}"
    sent = await click(bot, "fanout_open_ui", "", channel, message_ts=run.ts)
    assert sent.status == 200 and sent.elapsed < 3.0
    await summary_of(bot, channel, run)
    assert not answers(bot.fake, sent)  # nothing to say: Slack opens the link


async def test_retry_failed_button_reruns_only_the_failures_in_the_same_thread(bot: BotUnderTest,
                                                                                client: Client) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-7 --child square", channel)
    wf = run_id(run)
    summary = await summary_of(bot, channel, run)
    retry = buttons(summary)["fanout_retry"]
    assert retry["value"] == wf and retry["text"]["text"] == "Retry failed (3)"

    # A double click starts one run.
    first, second = await asyncio.gather(
        click(bot, "fanout_retry", retry["value"], channel, message_ts=summary.ts, thread_ts=run.ts),
        click(bot, "fanout_retry", retry["value"], channel, message_ts=summary.ts, thread_ts=run.ts),
    )
    assert first.status == second.status == 200 and max(first.elapsed, second.elapsed) < 3.0
    in_thread = lambda: [m for m in bot.fake.thread(channel, run.ts)  # noqa: E731
                         if (m.metadata or {}).get("event_type") == "fanout_started"]
    await bot.fake.wait_for(lambda: in_thread(), timeout=15)
    retried = in_thread()[0]
    new_id = run_id(retried)
    assert new_id != wf and retried.metadata["event_payload"]["total_children"] == 3  # type: ignore[index]
    assert f"retries the failed values of `{wf}`" in rendered(retried)

    await bot.fake.wait_for(
        lambda: any(m.metadata["event_payload"]["workflow_id"] == new_id  # type: ignore[index]
                    for m in summaries(bot.fake, channel, run.ts)), timeout=30)
    again = next(m for m in summaries(bot.fake, channel, run.ts)
                 if m.metadata["event_payload"]["workflow_id"] == new_id)  # type: ignore[index]
    assert counts(again.metadata["event_payload"]) == (3, 0, 3)  # type: ignore[index]  # the same rule: still even
    assert all(f"Simulated failure for value {v}" in rendered(again) for v in (2, 4, 6))
    result = await result_of(client, new_id)
    assert [f.value for f in result.failed_children] == [2, 4, 6]

    # Options carried over, and the audit says what it was.
    memo = await (await client.get_workflow_handle(f"{new_id}-slack").describe()).memo()
    assert memo["retry_of"] == wf and memo["slack_user"] == "U1" and memo["slack_channel"] == channel
    assert memo["command_text"] == "2 4 6 --child square"
    assert "`/fanout 2 4 6 --child square`" in rendered(retried)

    late = await click(bot, "fanout_retry", retry["value"], channel, message_ts=summary.ts, thread_ts=run.ts)
    assert_private_error(await private_answer(bot.fake, late), "already retried")
    dup = answers(bot.fake, first) + answers(bot.fake, second)
    assert len(dup) == 1 and "already retried" in rendered(dup[0])
    await asyncio.sleep(0.5)
    assert len(in_thread()) == 1 and len(runs(bot.fake, channel)) == 2  # the run and its one retry


# -- live progress -------------------------------------------------------------------------------------------------


async def test_live_progress_in_place_throttled_and_final_after_summary(bot: BotUnderTest) -> None:
    channel = new_channel()
    run, _ = await start(bot, "1-6 --delay 0.5-6 --fail odd", channel)  # spread out: some edit sees it move
    summary = await summary_of(bot, channel, run)
    await bot.fake.wait_for(lambda: "Finished" in rendered(_current(bot.fake, channel, run.ts)), timeout=10)
    await asyncio.sleep(INTERVAL * 2)

    updates = [c for c in bot.fake.calls_to("chat.update") if c.params.get("ts") == run.ts]
    posted = next(c for c in bot.fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == run.ts
                  and (c.params.get("metadata") or {}).get("event_type") == "fanout_summary")
    assert all(c.params["channel"] == channel for c in updates)
    before = [c for c in updates if c.at < posted.at]
    progress = [rendered(c.params.get("blocks")) for c in before]
    assert progress, "the run message was updated while the run was going"
    assert any(re.search(r"[▓░]{20} \d+%", p) and " done · " in p and " failed · " in p and " running · " in p
               and "elapsed" in p for p in progress)
    assert any("*0* of *6* done" not in p for p in progress)  # it moved
    # Progress edits at least the interval apart (the final edit waits only for an edit in flight).
    for earlier, later in itertools.pairwise(updates[:-1]):
        assert later.at - earlier.at >= INTERVAL, [round(c.at - updates[0].at, 3) for c in updates]
    last = updates[-1]
    assert last.at > posted.at and "Finished: 3 succeeded · 3 failed" in rendered(last.params.get("blocks"))
    assert "fanout_cancel" not in rendered(last.params.get("blocks"))
    assert summary.metadata["event_payload"]["failure_count"] == 3  # type: ignore[index]


# -- access control ------------------------------------------------------------------------------------------------


async def test_allowed_users_and_channels_for_commands_and_buttons(fake_slack: FakeSlack, task_queue: str,
                                                                   temporal_address: str, client: Client) -> None:
    ok_channel, other_channel = new_channel(), new_channel()
    settings = settings_for_tests(fake_slack.base_url, task_queue, allowed_users=frozenset({"U1"}),
                                  allowed_channels=frozenset({ok_channel}))
    async with serve_bot(settings, fake_slack, temporal_address) as guarded:
        for text, user, channel, why in [
            ("1 2 3", "U2", ok_channel, "FANOUT_ALLOWED_USERS"),
            ("list", "U2", ok_channel, "FANOUT_ALLOWED_USERS"),
            ("help", "U2", ok_channel, "FANOUT_ALLOWED_USERS"),
            ("1 2 3", "U1", other_channel, "FANOUT_ALLOWED_CHANNELS"),
        ]:
            sent = await command(guarded, text, channel, user=user)
            assert sent.status == 200 and sent.elapsed < 3.0
            assert_private_error(sent.ack, why)
        await asyncio.sleep(0.3)
        assert not fake_slack.messages(ok_channel) and not fake_slack.messages(other_channel)

        run, _ = await start(guarded, "1-3 --delay 1.5 --fail none", ok_channel, user="U1")
        wf = run_id(run)
        for user, channel, why in [("U2", ok_channel, "FANOUT_ALLOWED_USERS"),
                                   ("U1", other_channel, "FANOUT_ALLOWED_CHANNELS")]:
            sent = await click(guarded, "fanout_cancel", wf, channel, message_ts=run.ts, user=user)
            assert sent.status == 200 and sent.elapsed < 3.0
            assert_private_error(await private_answer(fake_slack, sent), why)
        assert (await client.get_workflow_handle(wf).describe()).status == WorkflowExecutionStatus.RUNNING
        summary = await summary_of(guarded, ok_channel, run)
        assert summary.metadata["event_payload"]["status"] == "completed"  # type: ignore[index]
        assert counts(summary.metadata["event_payload"]) == (3, 3, 0)  # type: ignore[index]
        memo = await (await client.get_workflow_handle(wf).describe()).memo()
        assert "cancelled_by" not in memo


async def test_retry_of_too_scattered_failures_is_refused_privately(bot: BotUnderTest) -> None:
    # 10,100 values, every even one fails: 5,050 single-value ranges, more than one retry request may carry.
    channel = new_channel()
    run, _ = await start(bot, "1-10100", channel)
    summary = await summary_of(bot, channel, run, timeout=60)
    retry = buttons(summary)["fanout_retry"]
    sent = await click(bot, "fanout_retry", retry["value"], channel, message_ts=summary.ts, thread_ts=run.ts)
    assert sent.status == 200
    answer = await private_answer(bot.fake, sent, timeout=10)
    assert_private_error(answer, "5,050 failed values", "at most 5,000 ranges")
    await asyncio.sleep(1)
    assert len([m for m in bot.fake.thread(channel, run.ts)
                if (m.metadata or {}).get("event_type") == "fanout_started"]) == 0
