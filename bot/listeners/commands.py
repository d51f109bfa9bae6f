"""The slash command, ``/fanout <text>``: refused privately in its ack, the help in its ack, the run form for
``/fanout`` alone, a run's Details modal for ``/fanout details <run-id>``, and every other command acked at once and
answered after (privately, or by the run's reporter in the channel)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.language.grammar import (
    CancelCommand,
    Command,
    DetailsCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    ScheduleActionCommand,
    ScheduleCommand,
    SchedulesCommand,
    StatusCommand,
)
from bot.language.help import help_text, usage_text
from bot.listeners.shared import answer, command_caller, open_details, open_form, tell
from bot.operations.answers import Answer
from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from bot.operations.runs import unescape_slack
from bot.operations.start import Invocation
from bot.render.details import Place
from bot.render.form import FormContext
from bot.render.replies import error_message, help_message


def register(app: AsyncApp) -> None:
    app.command("/fanout")(fanout_command)


async def fanout_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                         ops: Operations) -> None:
    caller = command_caller(command)
    if problem := ops.refusal(caller):
        await ack(**error_message(problem, "").as_ack())
        return
    text = str(command.get("text", ""))
    if not text.strip():  # `/fanout` alone: the form, for this channel
        await ack()
        await open_form(client, str(command.get("trigger_id", "")), FormContext(channel_id=caller.channel_id),
                        ops.catalog(caller.channel_id), respond)
        return
    catalog = ops.catalog(caller.channel_id)  # a scenario limited to other channels is refused here
    parsed = ops.parse(text, catalog)
    if isinstance(parsed, ParseError) and parsed.field == "child":
        # A child type the last read of what workers serve did not know (a worker that just started): the ack
        # never waits on Temporal, so read again after it, and refuse privately if it is still unknown.
        await ack()
        parsed = ops.parse(text, await ops.fresh_catalog(caller.channel_id))
        if isinstance(parsed, ParseError):
            await tell(respond, error_message(parsed.problem, usage_text()))
            return
    elif isinstance(parsed, ParseError):
        await ack(**error_message(parsed.problem, usage_text()).as_ack())
        return
    elif isinstance(parsed, HelpCommand):
        await ack(**help_message(help_text(catalog)).as_ack())
        return
    elif isinstance(parsed, DetailsCommand):  # the modal opens at once, then shows what Temporal says
        await ack()
        await open_details(client, str(command.get("trigger_id", "")), ops, caller,
                           Place(parsed.run_id, caller.channel_id), respond=respond)
        return
    else:
        await ack()  # within Slack's 3 s; the answer follows privately, or from the run's reporter
    await answer(respond, _described(parsed), _operation(ops, caller, parsed, command))


def _described(parsed: Command) -> str:
    """The command, as an error about it names it."""
    if isinstance(parsed, ScheduleActionCommand):
        return f"`{parsed.action}`"
    return {RunCommand: "starting the run", StatusCommand: "`status`", CancelCommand: "`cancel`",
            ListCommand: "`list`", ScheduleCommand: "`schedule`", SchedulesCommand: "`schedules`"}.get(
        type(parsed), "the command")


async def _operation(ops: Operations, caller: Caller, parsed: Command, command: dict[str, Any]) -> Answer | None:
    """What a parsed command does."""
    match parsed:
        case RunCommand():
            invocation = Invocation(user_id=caller.user_id, channel_id=caller.channel_id, team_id=caller.team_id,
                                    text=unescape_slack(str(command.get("text", ""))).strip(),  # as typed
                                    trigger_id=str(command.get("trigger_id", "")))
            return await ops.runs.run(parsed, invocation)
        case StatusCommand(run_id=run_id):
            return await ops.runs.status(caller, run_id)
        case CancelCommand(run_id=run_id):
            return await ops.runs.cancel(caller, run_id)
        case ListCommand():
            return await ops.runs.list_runs(caller)
        case ScheduleCommand():
            return await ops.schedules.schedule(caller, parsed, str(command.get("trigger_id", "")))
        case SchedulesCommand():
            return await ops.schedules.list_schedules(caller)
        case ScheduleActionCommand():
            return await ops.schedules.act(caller, parsed)
    return None  # HelpCommand: answered in the ack; DetailsCommand: a modal
