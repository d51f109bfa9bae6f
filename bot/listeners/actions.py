"""Buttons (block_actions): Cancel and Open in Temporal UI on a run's message; Retry failed, Run again and
Edit and run on its summary; Approve and Reject on a run waiting for an approval; New run (and the lab's
scenarios) on the App Home and in the help. They obey
the same allow-lists, channel rules and per-user cap as the command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.home.view import NEW_RUN_ACTIONS
from bot.listeners.common import Context, clicked_in, guarded, open_form, refusal
from bot.render.form import FormContext
from bot.render.replies import error_message


def register(app: AsyncApp, ctx: Context) -> None:
    async def permitted(body: dict[str, Any], respond: AsyncRespond) -> tuple[str, str, str] | None:
        """(team, user, channel) of the click if the allow-lists let them; else a private refusal."""
        team_id, user_id, channel_id = clicked_in(body)
        problem = refusal(ctx.settings, user_id, channel_id)
        if problem:
            await respond(**error_message(problem, "").as_ephemeral())
            return None
        return team_id, user_id, channel_id

    @app.action("fanout_cancel")
    async def cancel(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        team_id, user_id, channel_id = who
        run_id = body["actions"][0].get("value", "")
        await guarded(respond, "Cancel", ctx.ops.cancel(run_id, user_id, team_id, channel_id, respond))

    @app.action("fanout_retry")
    async def retry_failed(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        team_id, user_id, channel_id = who
        # The summary is a reply in the run's thread: the retry answers in that same thread.
        message, container = body.get("message") or {}, body.get("container") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts", "")
        await guarded(respond, "Retry failed", ctx.ops.retry_failed(
            body["actions"][0].get("value", ""), user_id=user_id, channel_id=channel_id, thread_ts=thread_ts,
            trigger_id=body.get("trigger_id", ""), team_id=team_id, respond=respond,
        ))

    @app.action("fanout_open_ui")
    async def open_ui(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the URL; the action still has to be acked

    async def decide(body: dict[str, Any], respond: AsyncRespond, approve: bool) -> None:
        if (who := await permitted(body, respond)) is None:
            return
        team_id, user_id, channel_id = who
        await guarded(respond, "Approve" if approve else "Reject", ctx.waiting.decide(
            body["actions"][0].get("value", ""), approve=approve, user_id=user_id, team_id=team_id,
            channel_id=channel_id, respond=respond))

    @app.action("fanout_approve")
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await decide(body, respond, approve=True)

    @app.action("fanout_reject")
    async def reject(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await decide(body, respond, approve=False)

    @app.action("fanout_run_again")
    async def run_again(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        team_id, user_id, channel_id = who
        await guarded(respond, "Run again", ctx.ops.run_again(
            body["actions"][0].get("value", ""), user_id=user_id, team_id=team_id, channel_id=channel_id,
            respond=respond))

    @app.action("fanout_edit_run")
    async def edit_and_run(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond,
                           client: AsyncWebClient) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        team_id, _, channel_id = who
        found = await ctx.ops.request_of(body["actions"][0].get("value", ""), team_id, channel_id, respond)
        if found is not None:  # the form, filled in with the run's request, for the run's channel
            await open_form(client, body.get("trigger_id", ""), FormContext(channel_id=channel_id), respond,
                            ctx.catalog(channel_id), request=found[1])

    @app.action(NEW_RUN_ACTIONS)  # New run, and each scenario's button (each its own action_id)
    async def new_run(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        await ack()
        # From the help (in a channel) the form is for that channel; from the App Home it asks for one.
        _, user_id, channel_id = clicked_in(body)
        in_home = (body.get("view") or {}).get("type") == "home"
        if not in_home and (problem := refusal(ctx.settings, user_id, channel_id)):
            await respond(**error_message(problem, "").as_ephemeral())
            return
        await open_form(client, body.get("trigger_id", ""), FormContext(channel_id="" if in_home else channel_id),
                        None if in_home else respond, ctx.catalog("" if in_home else channel_id),
                        scenario=body["actions"][0].get("value", ""))
