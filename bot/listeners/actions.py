"""Buttons (block_actions): Cancel and Open in Temporal UI on a run's message, Retry failed on its summary.
They obey the same allow-lists and channel rules as the command."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.listeners.common import Context, clicked_in, guarded, refusal
from bot.render import error_message


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
