"""The buttons' listeners (bot.listeners.actions), with a recording stand-in for the operations."""

from __future__ import annotations

import json
from typing import Any

from bot.listeners.actions import (
    approve_clicked,
    batch_clicked,
    cancel_clicked,
    child_clicked,
    details_clicked,
    details_moved,
    edit_and_run_clicked,
    new_run_clicked,
    open_ui_clicked,
    reject_clicked,
    retry_clicked,
    run_again_clicked,
)
from bot.operations.answers import refused, said
from bot.operations.permissions import Caller
from bot.render.details import ChildLine, Listing, Place, RunHeader, RunPage
from bot.runs.info import RunInfo
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


# -- the Details modal ---------------------------------------------------------------------------------------------

def page() -> RunPage:
    header = RunHeader(RunInfo("fanout-1", "U1", "C1", "1 2 3", 3, 1, 3), "Completed", live=False)
    return RunPage(header, Listing(False, [ChildLine(0, "1", "succeeded", 1, 0.1, 2, True)], total=1))


def in_modal(action_id: str, value: str, place: Place, *, pushed: bool = False) -> dict[str, Any]:
    """A click inside a Details view: the view comes whole, with no channel anywhere in the body."""
    view = {"id": "VDETAILS", "hash": "h-7", "callback_id": "fanout_details", "private_metadata": place.encode(),
            "root_view_id": "VROOT" if pushed else "VDETAILS", "previous_view_id": "VROOT" if pushed else None}
    return {"user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"}, "trigger_id": "trig-3", "view": view,
            "container": {"type": "view", "view_id": "VDETAILS"},
            "actions": [{"action_id": action_id, "value": value}]}


async def test_details_opens_a_loading_modal_at_once_then_fills_it_in_with_the_views_hash() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal, answers={"details.at": page()})
    await details_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, client=bolt, ops=ops)
    # Nothing waits on Temporal before views.open: the trigger lasts 3 s.
    assert journal.names() == ["ack", "views_open", "details.at", "views_update"]
    opened = journal.first("views_open")[1]
    assert opened["trigger_id"] == "trig-2" and "Reading run" in json.dumps(opened["view"])
    assert journal.first("details.at")[1] == (CALLER, Place("fanout-1", "C1"))
    update = journal.first("views_update")[1]
    assert (update["view_id"], update["hash"]) == ("VOPENED", "hash-of-VOPENED")
    assert update["view"]["callback_id"] == "fanout_details"
    assert "succeeded → 2" in json.dumps(update["view"], ensure_ascii=False)
    assert Place.decode(update["view"]["private_metadata"]) == Place("fanout-1", "C1")  # the run's channel kept


async def test_a_refusal_is_shown_in_the_modal() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal, answers={"details.at": refused("No run `fanout-1` found in this channel.")})
    await details_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, client=bolt, ops=ops)
    assert "No run `fanout-1` found in this channel." in json.dumps(journal.first("views_update")[1]["view"])
    # The allow-lists too, checked on every action, before anything is read.
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal).with_settings(allowed_channels=frozenset({"COTHER"}))
    await details_moved(ack=bolt.ack, body=in_modal("fanout_details_go:refresh", "refresh", Place("fanout-1", "C1")),
                        client=bolt, ops=ops)
    assert journal.names() == ["ack", "views_update"]
    assert "FANOUT_ALLOWED_CHANNELS" in json.dumps(journal.first("views_update")[1]["view"])


async def test_a_modal_that_does_not_open_is_said_privately() -> None:
    journal = Journal()
    bolt = Bolt(journal, failing={"views_open": "expired_trigger_id"})
    await details_clicked(ack=bolt.ack, body=click(), respond=bolt.respond, client=bolt,
                          ops=RecordingOperations(journal))
    assert journal.names() == ["ack", "views_open", "respond"]  # nothing read from Temporal
    assert "expired_trigger_id" in json.dumps(journal.first("respond")[1])


async def test_moves_in_the_modal_take_the_runs_channel_from_its_metadata_and_update_it_with_its_hash() -> None:
    place = Place("fanout-1", "C1", show="failed", page=2)
    for action, target in [("fanout_details_go:next", Place("fanout-1", "C1", "failed", 3)),
                           ("fanout_details_go:prev", Place("fanout-1", "C1", "failed", 1)),
                           ("fanout_details_go:retried", Place("fanout-1", "C1", "retried", 0)),
                           ("fanout_details_go:refresh", place)]:
        journal = Journal()
        bolt = Bolt(journal)
        ops = RecordingOperations(journal, answers={"details.at": page()})
        await details_moved(ack=bolt.ack, body=in_modal(action, "", place), client=bolt, ops=ops)
        assert journal.names() == ["ack", "details.at", "views_update"], action
        assert journal.first("details.at")[1] == (CALLER, target), action  # C1: from the metadata, not the body
        update = journal.first("views_update")[1]
        assert (update["view_id"], update["hash"]) == ("VDETAILS", "h-7"), action


async def test_a_newer_change_wins_a_hash_conflict() -> None:
    journal = Journal()
    bolt = Bolt(journal, failing={"views_update": "hash_conflict"})
    await details_moved(ack=bolt.ack, body=in_modal("fanout_details_go:next", "", Place("fanout-1", "C1")),
                        client=bolt, ops=RecordingOperations(journal, answers={"details.at": page()}))
    assert journal.names() == ["ack", "details.at", "views_update"]  # dropped, logged, and nothing raised


async def test_a_story_and_a_batch_are_pushed_from_the_runs_modal_only() -> None:
    place = Place("fanout-1", "C1", show="failed")
    for listener, value, operation, target in [
            (child_clicked, "3", "details.at", Place("fanout-1", "C1", child=3)),
            (batch_clicked, "7", "details.at", Place("fanout-1", "C1", batch=7))]:
        journal = Journal()
        bolt = Bolt(journal)
        await listener(ack=bolt.ack, body=in_modal("x", value, place), client=bolt,
                       ops=RecordingOperations(journal, answers={operation: refused("gone")}))
        assert journal.names() == ["ack", "views_push", operation, "views_update"]
        assert journal.first("views_push")[1]["trigger_id"] == "trig-3"
        assert journal.first(operation)[1] == (CALLER, target)
        assert journal.first("views_update")[1]["view_id"] == "VPUSHED"
        # A pushed view never pushes again (the stack stays within Slack's three).
        journal = Journal()
        bolt = Bolt(journal)
        await listener(ack=bolt.ack, body=in_modal("x", value, place, pushed=True), client=bolt,
                       ops=RecordingOperations(journal))
        assert journal.names() == ["ack"]


async def test_a_button_in_a_view_without_its_place_does_nothing_but_ack() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    body = in_modal("fanout_details_go:next", "", Place("fanout-1", "C1"))
    body["view"]["private_metadata"] = "not ours"
    await details_moved(ack=bolt.ack, body=body, client=bolt, ops=RecordingOperations(journal))
    assert journal.names() == ["ack"]
