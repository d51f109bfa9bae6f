"""The global shortcut, the App Home event and the Workflow Builder step's listeners, with a recording stand-in
for the operations."""

from __future__ import annotations

from bot.listeners.events import home_opened
from bot.listeners.functions import run_a_fanout, step_text
from bot.listeners.shortcuts import start_a_fanout
from bot.operations.answers import refused
from bot.operations.permissions import Caller
from tests.listeners.recording import Bolt, Journal, RecordingOperations


async def test_the_shortcut_opens_the_form_which_asks_for_a_channel() -> None:
    journal = Journal()
    bolt = Bolt(journal)
    await start_a_fanout(ack=bolt.ack, shortcut={"trigger_id": "trig-4"}, client=bolt,
                         ops=RecordingOperations(journal))
    assert journal.names() == ["ack", "views_open"]
    opened = journal.first("views_open")[1]
    assert opened["trigger_id"] == "trig-4" and "channel" in {b.get("block_id") for b in opened["view"]["blocks"]}


async def test_the_home_tab_asks_for_a_publish_and_the_messages_tab_draws_nothing() -> None:
    journal = Journal()
    ops = RecordingOperations(journal)
    await home_opened(event={"tab": "home", "user": "U7"}, body={"team_id": "T1"}, ops=ops)
    await home_opened(event={"tab": "messages", "user": "U7"}, body={"team_id": "T1"}, ops=ops)
    assert journal.entries == [("open_home", Caller("U7", "T1"))]


async def test_a_step_runs_its_inputs_as_a_command_and_fails_with_why_not() -> None:
    inputs = {"values": "1-3", "fail_rule": "odd", "retries": "2", "channel_id": "C9"}
    assert step_text(inputs) == "1-3 --fail odd --retries 2"
    body = {"team_id": "T1", "event": {"function_execution_id": "Fx1"}}
    journal = Journal()
    bolt = Bolt(journal)
    await run_a_fanout(inputs=inputs, fail=bolt.fail, body=body, ops=RecordingOperations(journal))
    assert journal.names() == ["steps.start"]
    _, (command,), kwargs = journal.first("steps.start")
    assert command.request.fail == "odd" and command.request.max_attempts == 2
    assert kwargs == {"text": "1-3 --fail odd --retries 2", "channel_id": "C9", "team_id": "T1",
                      "function_execution_id": "Fx1"}
    journal = Journal()
    bolt = Bolt(journal)
    ops = RecordingOperations(journal, answers={"steps.start": refused("Temporal did not accept the run")})
    await run_a_fanout(inputs=inputs, fail=bolt.fail, body=body, ops=ops)
    assert journal.names() == ["steps.start", "fail"] and journal.first("fail")[1] == "Temporal did not accept the run"
    journal = Journal()
    bolt = Bolt(journal)
    await run_a_fanout(inputs={"values": "x", "channel_id": "C9"}, fail=bolt.fail, body=body,
                       ops=RecordingOperations(journal))
    assert journal.names() == ["fail"] and "Cannot run a fan-out of 'x'" in journal.first("fail")[1]
