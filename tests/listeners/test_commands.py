"""The slash command's listener (bot.listeners.commands), with a recording stand-in for the operations: what it
acks, what it refuses, which operation it calls, and in what order."""

from __future__ import annotations

import json
from typing import Any

from bot.catalog import LAB, Catalog, OfferedChildType
from bot.language.grammar import RunCommand
from bot.listeners.commands import fanout_command
from bot.operations.answers import refused, said
from bot.operations.permissions import Caller
from bot.render.details import Place
from tests.listeners.recording import Bolt, Journal, RecordingOperations
from workflows.model import ChildPlugin


def command(text: str, **fields: str) -> dict[str, Any]:
    return {"text": text, "user_id": "U1", "channel_id": "C1", "team_id": "T1", "trigger_id": "trig-1", **fields}


async def send(text: str, ops: RecordingOperations | None = None, **fields: str) -> tuple[Journal, Any]:
    journal = ops.journal if ops else Journal()
    ops = ops or RecordingOperations(journal)
    bolt = Bolt(journal)
    await fanout_command(ack=bolt.ack, command=command(text, **fields), respond=bolt.respond, client=bolt, ops=ops)
    return journal, ops


def text_of(entry: tuple[Any, ...]) -> str:
    return json.dumps(entry[-1], ensure_ascii=False)


async def test_a_run_is_acked_first_then_started_with_what_was_typed() -> None:
    journal, _ = await send("1 2 3 --fail odd")
    assert journal.names() == ["ack", "runs.run"] and journal.entries[0][1] == {}
    _, (parsed, invocation), _ = journal.first("runs.run")
    assert isinstance(parsed, RunCommand) and parsed.request.fail == "odd" and parsed.value_count == 3
    assert (invocation.user_id, invocation.channel_id, invocation.team_id) == ("U1", "C1", "T1")
    assert invocation.text == "1 2 3 --fail odd" and invocation.trigger_id == "trig-1"


async def test_each_subcommand_calls_its_operation_with_the_caller() -> None:
    caller = Caller("U1", "T1", "C1")
    for text, name, args in [("status fanout-1", "runs.status", (caller, "fanout-1")),
                             ("cancel fanout-1", "runs.cancel", (caller, "fanout-1")),
                             ("list", "runs.list_runs", (caller,)),
                             ("schedules", "schedules.list_schedules", (caller,))]:
        journal, _ = await send(text)
        assert journal.names() == ["ack", name], text
        assert journal.first(name)[1] == args, text


async def test_an_operations_answer_is_said_privately_after_the_ack() -> None:
    journal = Journal()
    ops = RecordingOperations(journal, answers={"runs.status": said("Run `fanout-1`: *Running*")})
    await send("status fanout-1", ops)
    assert journal.names() == ["ack", "runs.status", "respond"]
    respond = journal.first("respond")[1]
    assert respond["response_type"] == "ephemeral" and respond["replace_original"] is False
    assert "Running" in respond["text"]


async def test_a_failing_operation_is_said_privately_too() -> None:
    journal = Journal()
    await send("list", RecordingOperations(journal, answers={"runs.list_runs": RuntimeError("boom")}))
    assert journal.names() == ["ack", "runs.list_runs", "respond"]
    assert "Something went wrong with `list` (RuntimeError)" in text_of(journal.first("respond"))


async def test_bad_input_is_refused_in_the_ack_with_usage() -> None:
    journal, _ = await send("1 2 --retries 99 <!channel>")
    [ack] = journal.entries
    assert ack[0] == "ack" and ack[1]["response_type"] == "ephemeral"
    body = text_of(ack)
    assert "--retries" in body and "/fanout help" in body and "<!channel>" not in body


async def test_the_help_is_the_ack() -> None:
    journal, _ = await send("help")
    [ack] = journal.entries
    assert ack[1]["response_type"] == "ephemeral" and "fanout_new_run" in text_of(ack)


async def test_the_allow_lists_refuse_in_the_ack_and_nothing_runs() -> None:
    journal = Journal()
    ops = RecordingOperations(journal).with_settings(allowed_channels=frozenset({"CALLOWED"}))
    await send("1 2 3", ops)
    assert journal.names() == ["ack"] and "not enabled in this channel" in text_of(journal.first("ack"))
    journal = Journal()
    ops = RecordingOperations(journal).with_settings(allowed_users=frozenset({"UOTHER"}))
    await send("status fanout-1", ops)
    assert journal.names() == ["ack"] and "FANOUT_ALLOWED_USERS" in text_of(journal.first("ack"))


async def test_fanout_alone_acks_then_opens_the_form_for_this_channel() -> None:
    journal, _ = await send("")
    assert journal.names() == ["ack", "views_open"]
    opened = journal.first("views_open")[1]
    assert opened["trigger_id"] == "trig-1" and opened["view"]["callback_id"] == "fanout_form"
    assert json.loads(opened["view"]["private_metadata"])["channel_id"] == "C1"


async def test_details_acks_opens_a_modal_at_once_then_fills_it_in() -> None:
    journal = Journal()
    await send("details fanout-1", RecordingOperations(journal, answers={"details.at": refused("No run `fanout-1`")}))
    assert journal.names() == ["ack", "views_open", "details.at", "views_update"]
    assert journal.entries[0][1] == {} and journal.first("views_open")[1]["trigger_id"] == "trig-1"
    assert journal.first("details.at")[1] == (Caller("U1", "T1", "C1"), Place("fanout-1", "C1"))
    assert "No run `fanout-1`" in text_of(journal.first("views_update"))
    journal, _ = await send("details <!channel>")  # not a run id: refused in the ack, no modal
    assert journal.names() == ["ack"] and "is not a run id" in text_of(journal.first("ack"))


async def test_a_child_type_the_last_read_did_not_know_is_checked_again_after_the_ack() -> None:
    resize = OfferedChildType("resize", "resizes", plugin=ChildPlugin("q.child.resize", "PluginChildWorkflow", "r"))
    journal = Journal()
    served = Catalog(child_types=LAB.child_types + (resize,))
    await send("1 2 --child resize", RecordingOperations(journal, catalog=LAB, fresh=served))
    assert journal.names() == ["ack", "fresh_catalog", "runs.run"]  # known after a fresh read: it runs
    assert journal.entries[0][1] == {}
    journal = Journal()
    await send("1 2 --child resize", RecordingOperations(journal))  # still unknown: refused privately
    assert journal.names() == ["ack", "fresh_catalog", "respond"]
    assert "No worker serves the child type `resize`" in text_of(journal.first("respond"))


async def test_a_refusal_from_the_operation_is_private() -> None:
    journal = Journal()
    ops = RecordingOperations(journal, answers={"runs.run": refused("You have 3 runs going")})
    await send("1 2 3", ops)
    assert journal.names() == ["ack", "runs.run", "respond"] and "3 runs going" in text_of(journal.first("respond"))


async def test_a_dm_or_group_dm_is_refused_in_the_ack_whatever_the_command() -> None:
    for fields in ({"channel_id": "D1", "channel_name": "directmessage"},
                   {"channel_id": "G1", "channel_name": "mpdm-alice--bob--carol-1"}):
        for text in ("1 2 3", "", "help", "list"):
            journal, _ = await send(text, **fields)
            assert journal.names() == ["ack"], (fields, text)  # no form opened, no operation called
            assert "runs in a channel" in text_of(journal.entries[0]), (fields, text)
    journal, _ = await send("1 2 3", channel_id="G2", channel_name="privategroup")  # a private channel
    assert journal.names() == ["ack", "runs.run"]
