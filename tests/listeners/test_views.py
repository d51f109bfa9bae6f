"""The run form's submission listener (bot.listeners.views), with a recording stand-in for the operations: inline
errors in the ack, a start within it."""

from __future__ import annotations

import json
from typing import Any

from bot.listeners.views import run_form_submitted
from bot.operations.answers import refused
from bot.render.form import FormContext, run_form
from devkit.fake_slack.requests import state_of
from tests.listeners.recording import Bolt, Journal, RecordingOperations


def submission(channel: str = "C1", **typed: str) -> tuple[dict[str, Any], dict[str, Any]]:
    view = run_form(context=FormContext(channel_id=channel))
    view = {**view, "id": "V123", "state": {"values": state_of(view, **typed)}}
    return {"user": {"id": "U1", "team_id": "T1"}, "team": {"id": "T1"}, "trigger_id": "trig-3"}, view


async def submit(ops: RecordingOperations, **typed: str) -> Journal:
    body, view = submission(**typed)
    await run_form_submitted(ack=Bolt(ops.journal).ack, body=body, view=view, ops=ops)
    return ops.journal


async def test_a_valid_form_starts_its_run_named_after_the_view_then_closes() -> None:
    journal = await submit(RecordingOperations(Journal()), values="1-5")
    assert journal.names() == ["runs.start", "ack"] and journal.first("ack")[1] == {}
    request, invocation = journal.first("runs.start")[1]
    assert [(r.start, r.end) for r in request.ranges] == [(1, 5)]
    assert invocation.trigger_id == "view:V123" and invocation.channel_id == "C1" and invocation.user_id == "U1"


async def test_bad_input_comes_back_inline_on_its_field_and_nothing_starts() -> None:
    journal = await submit(RecordingOperations(Journal()), values="1-5", opt_retries="99")
    [ack] = journal.entries
    assert ack[1]["response_action"] == "errors" and "opt_retries" in ack[1]["errors"]


async def test_a_refused_start_comes_back_inline_in_plain_text() -> None:
    ops = RecordingOperations(Journal(), answers={"runs.start": refused("You have `3` runs going")})
    journal = await submit(ops, values="1-5")
    assert journal.names() == ["runs.start", "ack"]
    errors = journal.first("ack")[1]["errors"]
    assert errors == {"values": "You have 3 runs going"}


async def test_the_allow_lists_refuse_inline() -> None:
    ops = RecordingOperations(Journal()).with_settings(allowed_channels=frozenset({"CALLOWED"}))
    journal = await submit(ops, values="1-5")
    [ack] = journal.entries
    assert "not enabled in this channel" in json.dumps(ack[1]["errors"])
