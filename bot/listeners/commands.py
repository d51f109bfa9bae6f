"""The slash command: ``/fanout <text>``."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.language.grammar import (
    CancelCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    ScheduleActionCommand,
    ScheduleCommand,
    SchedulesCommand,
    StatusCommand,
    parse,
)
from bot.language.help import help_text, usage_text
from bot.listeners.common import Context, guarded, open_form, refusal
from bot.render.form import FormContext
from bot.render.replies import error_message, help_message


def register(app: AsyncApp, ctx: Context) -> None:
    @app.command("/fanout")
    async def fanout(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        team_id, user_id, channel_id = command.get("team_id", ""), command.get("user_id", ""), command.get(
            "channel_id", "")
        problem = refusal(ctx.settings, user_id, channel_id)
        if problem:
            await ack(**error_message(problem, "").as_ack())
            return
        if not command.get("text", "").strip():  # `/fanout` alone: the form, for this channel
            await ack()
            await open_form(client, command.get("trigger_id", ""), FormContext(channel_id=channel_id), respond,
                            ctx.catalog(channel_id))
            return
        catalog = ctx.catalog(channel_id)  # a scenario limited to other channels is refused here
        text = command.get("text", "")
        parsed = parse(text, max_values=ctx.settings.max_values, catalog=catalog)
        acked = False
        if isinstance(parsed, ParseError) and parsed.field == "child":
            # A child type the last read of what workers serve did not know (a worker that just started): the ack
            # never waits on Temporal, so read again after it, and refuse privately if it is still unknown.
            await ack()
            acked = True
            parsed = parse(text, max_values=ctx.settings.max_values, catalog=await ctx.fresh_catalog(channel_id))
            if isinstance(parsed, ParseError):
                await respond(**error_message(parsed.problem, usage_text()).as_ephemeral())
                return
        if isinstance(parsed, ParseError):
            await ack(**error_message(parsed.problem, usage_text()).as_ack())
            return
        if isinstance(parsed, HelpCommand):
            await ack(**help_message(help_text(catalog)).as_ack())
            return
        if not acked:
            await ack()  # within Slack's 3 s; the answer follows through respond() or the run's reporter
        ops = ctx.ops
        if isinstance(parsed, RunCommand):
            await guarded(respond, "starting the run", ops.run(parsed, command, respond))
        elif isinstance(parsed, StatusCommand):
            await guarded(respond, "`status`", ops.status(parsed.run_id, team_id, channel_id, respond))
        elif isinstance(parsed, CancelCommand):
            await guarded(respond, "`cancel`", ops.cancel(parsed.run_id, user_id, team_id, channel_id, respond))
        elif isinstance(parsed, ListCommand):
            await guarded(respond, "`list`", ops.list_runs(team_id, channel_id, respond))
        elif isinstance(parsed, ScheduleCommand):
            await guarded(respond, "`schedule`", ctx.waiting.schedule(parsed, command, respond))
        elif isinstance(parsed, SchedulesCommand):
            await guarded(respond, "`schedules`", ctx.waiting.list_schedules(team_id, channel_id, respond))
        elif isinstance(parsed, ScheduleActionCommand):
            await guarded(respond, f"`{parsed.action}`", ctx.waiting.act(
                parsed, user_id=user_id, team_id=team_id, channel_id=channel_id, respond=respond))
