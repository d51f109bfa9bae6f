"""The Bolt app: small listeners that ack first, then parse -> start -> watch -> render.

Bolt verifies request signatures (HTTP mode), acks, and renders; slack_sdk's retry handlers
retry 429s (honouring Retry-After), 5xx answers and connection errors.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.attachments import default_attachments
from bot.claims import Claim
from bot.claims import acquire as acquire_claim
from bot.config import Settings
from bot.lifecycle import RunReporter
from bot.operations import Operations
from bot.parse import (
    CancelCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    StatusCommand,
    help_text,
    parse,
    usage_text,
)
from bot.render import error_message, escape, help_message
from bot.temporal import TemporalGateway

log = logging.getLogger("fanout.bot")


def slack_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=5),
            AsyncServerErrorRetryHandler(max_retry_count=3),
        ],
    )


def refusal(settings: Settings, user_id: str, channel_id: str) -> str | None:
    """Why this user may not use /fanout here, or None. Empty allow-lists mean everyone."""
    if settings.allowed_channels and channel_id not in settings.allowed_channels:
        return "/fanout is not enabled in this channel (FANOUT_ALLOWED_CHANNELS)."
    if settings.allowed_users and user_id not in settings.allowed_users:
        return "You are not on the list of /fanout users (FANOUT_ALLOWED_USERS)."
    return None


def clicked_in(body: dict[str, Any]) -> tuple[str, str]:
    """(user id, channel id) of a block_actions click. The channel comes from ``channel`` or, when Slack
    leaves that out, the message's ``container``; none at all means no channel (refused by an allow-list)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    return str((body.get("user") or {}).get("id", "")), str(channel)


def build_app(settings: Settings, gateway: TemporalGateway, *, client: AsyncWebClient | None = None) -> AsyncApp:
    slack = client or slack_client(settings)
    app = AsyncApp(
        client=slack,
        signing_secret=settings.slack_signing_secret or None,
        request_verification_enabled=not settings.socket_mode,
    )
    async def claim(run_id: str) -> Claim | None:
        return await acquire_claim(await gateway.client(), run_id, settings.task_queue,
                                   lease_s=settings.claim_lease_s)

    reporter = RunReporter(slack, progress_interval_s=settings.progress_interval_s, attachments=default_attachments(),
                           claim=claim)
    ops = Operations(settings, gateway, reporter)
    app_state: dict[str, Any] = {"reporter": reporter, "ops": ops}
    app.fanout_state = app_state  # type: ignore[attr-defined]

    async def guarded(respond: AsyncRespond, what: str, work: Awaitable[None]) -> None:
        """After the ack: whatever goes wrong, the user hears about it privately (and the log has it)."""
        try:
            await work
        except Exception as err:
            log.exception("%s failed", what)
            problem = f"Something went wrong with {what} ({escape(type(err).__name__)}); nothing more was done."
            try:
                await respond(**error_message(problem, "").as_ephemeral())
            except Exception:
                log.exception("could not tell the user that %s failed", what)

    @app.command("/fanout")
    async def on_fanout(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        user_id, channel_id = command.get("user_id", ""), command.get("channel_id", "")
        problem = refusal(settings, user_id, channel_id)
        if problem:
            await ack(**error_message(problem, "").as_ack())
            return
        parsed = parse(command.get("text", ""), max_values=settings.max_values)
        if isinstance(parsed, ParseError):
            await ack(**error_message(parsed.problem, usage_text()).as_ack())
            return
        if isinstance(parsed, HelpCommand):
            await ack(**help_message(help_text()).as_ack())
            return
        await ack()  # within Slack's 3 s; the answer follows through respond() / the channel
        if isinstance(parsed, RunCommand):
            await guarded(respond, "starting the run", ops.run(parsed, command, respond))
        elif isinstance(parsed, StatusCommand):
            await guarded(respond, "`status`", ops.status(parsed.run_id, respond))
        elif isinstance(parsed, CancelCommand):
            await guarded(respond, "`cancel`", ops.cancel(parsed.run_id, user_id, respond))
        elif isinstance(parsed, ListCommand):
            await guarded(respond, "`list`", ops.list_runs(channel_id, respond))

    async def permitted(body: dict[str, Any], respond: AsyncRespond) -> tuple[str, str] | None:
        """Who clicked and where, if the allow-lists let them; else a private refusal. Buttons obey the
        same rules as the command."""
        user_id, channel_id = clicked_in(body)
        problem = refusal(settings, user_id, channel_id)
        if problem:
            await respond(**error_message(problem, "").as_ephemeral())
            return None
        return user_id, channel_id

    @app.action("fanout_cancel")
    async def on_cancel_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        await guarded(respond, "Cancel", ops.cancel(body["actions"][0].get("value", ""), who[0], respond))

    @app.action("fanout_retry")
    async def on_retry_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        if (who := await permitted(body, respond)) is None:
            return
        user_id, channel_id = who
        # The summary is a reply in the run's thread: the retry answers in that same thread.
        message, container = body.get("message") or {}, body.get("container") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts", "")
        await guarded(respond, "Retry failed", ops.retry_failed(
            body["actions"][0].get("value", ""), user_id=user_id, channel_id=channel_id, thread_ts=thread_ts,
            trigger_id=body.get("trigger_id", ""), team_id=(body.get("team") or {}).get("id", ""), respond=respond,
        ))

    @app.action("fanout_open_ui")
    async def on_open_ui(ack: AsyncAck) -> None:
        await ack()  # a link button: Slack opens the URL; the action still has to be acked

    return app
