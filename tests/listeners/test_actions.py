"""The buttons' listeners (bot.listeners.actions), with a recording stand-in for the operations."""

from __future__ import annotations

import json
from typing import Any

from bot.listeners.actions import (
    approve_clicked,
    cancel_clicked,
    edit_and_run_clicked,
    new_run_clicked,
    open_ui_clicked,
    reject_clicked,
    retry_clicked,
    run_again_clicked,
)
from bot.operations.answers import refused, said
from bot.operations.permissions import Caller
from tests.listeners.recording import Bolt, Journal, RecordingOperations
from workflows.model import FanoutRequest, ValueRange

CALLER = Caller("U1", "T1", "C1")


def click(value: str = "fanout-1", *, channel: str | None = "C1", thread_ts: str = "") -> dict[str, Any]:
    body: dict[str, Any] = {"user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"}, "trigger_id": "trig-2",
                            "actions": [{"action_id": "x", "value": value}],
                            "message": {"ts": "1.000100", **({"thread_ts": thread_ts} if thread_ts else {})}}
    if channel:
        body["channel"] = {"id": channel}
    return body


async def test_each_button_acks_then_calls_its_operation_with_the_clicker_and_the_run() -> None:
    for listener, name, kwargs in [(cancel_clicked, "runs.cancel", {}),
                                   (run_again_clicked, "runs.run_again", {}),
                                   (approve_clicked, "approvals.decide", {"approve": True}),
                                   (reject_clicked, "approvals.decide", {"approve": False})]:
        journal = Journal()
        bolt = Bolt(journal)
        await listener(ack=bolt.ack, body=click(), respond=bolt.respond, ops=RecordingOperations(journal))
        assert journal.names() == ["ack", name], listener.__name__
        assert journal.first(name)[1:] == ((CALLER, "fanout-1"), kwargs), listener.__name__


async def test_retry_answers_in_the_summarys_thread() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    await retry_clicked(ack=bolt.ack, body=click(thread_ts="1.000001"), respond=bolt.respond,
                        ops=RecordingOperations(journal))
    assert journal.first("runs.retry_failed")[1:] == ((CALLER, "fanout-1"),
                                                     {"thread_ts": "1.000001", "trigger_id": "trig-2"})


async def test_an_answer_is_said_privately_and_a_refusal_stops_the_click() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal, answers={"runs.cancel": said("Cancelling `fanout-1`")})
    await cancel_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, ops=ops)
    assert journal.names() == ["ack", "runs.cancel", "respond"]
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal).with_settings(allowed_users=frozenset({"UOTHER"}))
    await cancel_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, ops=ops)
    assert journal.names() == ["ack", "respond"]  # no operation
    assert "FANOUT_ALLOWED_USERS" in json.dumps(journal.first("respond")[1])


async def test_a_click_with_no_channel_matches_no_run() -> None:
    # Slack left the channel out and the container too: the caller has no channel, so no run is its.
    journal = Journal()
    bolt = Bolt(journal)
    await cancel_clicked(ack=bolt.ack, body=click(channel=None), respond=bolt.respond,
                         ops=RecordingOperations(journal))
    assert journal.first("runs.cancel")[1] == (Caller("U1", "T1", ""), "fanout-1")


async def test_the_link_button_is_acked_and_nothing_else() -> None:
    journal = Journal()
    await open_ui_clicked(ack=Bolt(journal).ack)
    assert journal.names() == ["ack"]


async def test_edit_and_run_opens_the_form_filled_in_for_the_runs_channel() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    request = FanoutRequest([ValueRange(1, 7)], fail="odd", max_attempts=3)
    ops = RecordingOperations(journal, answers={"runs.request_of": (object(), request)})
    await edit_and_run_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, client=bolt, ops=ops)
    assert journal.names() == ["ack", "runs.request_of", "views_open"]
    view = journal.first("views_open")[1]["view"]
    assert "1-7" in json.dumps(view) and json.loads(view["private_metadata"])["channel_id"] == "C1"
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal, answers={"runs.request_of": refused("No run `fanout-1` found")})
    await edit_and_run_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, client=bolt, ops=ops)
    assert journal.names() == ["ack", "runs.request_of", "respond"]


async def test_new_run_from_the_home_asks_for_a_channel_and_from_the_help_is_for_its_channel() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    home = {**click("all-success", channel=None), "view": {"type": "home"}}
    await new_run_clicked(ack=bolt.ack, body=home, respond=bolt.respond, client=bolt, ops=RecordingOperations(journal))
    assert journal.names() == ["ack", "views_open"]
    view = journal.first("views_open")[1]["view"]
    assert "channel" in {b.get("block_id") for b in view["blocks"]}
    assert '"value": "all-success"' in json.dumps(view)  # the scenario picked
    journal = Journal()
    bolt = Bolt(journal)
    await new_run_clicked(ack=bolt.ack, body=click("new"), respond=bolt.respond, client=bolt,
                          ops=RecordingOperations(journal))
    view = journal.first("views_open")[1]["view"]
    assert "channel" not in {b.get("block_id") for b in view["blocks"]}
