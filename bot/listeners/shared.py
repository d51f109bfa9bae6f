"""What the surfaces' listeners share: who asks (from a payload), answering privately after the ack (and when
the work fails), and opening the run form."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import Catalog
from bot.mrkdwn import escape
from bot.operations.answers import Answer
from bot.operations.permissions import Caller
from bot.render.blocks import Message
from bot.render.form import FormContext, run_form
from bot.render.replies import error_message
from workflows.model import FanoutRequest

log = logging.getLogger("fanout.bot")


def command_caller(command: dict[str, Any]) -> Caller:
    """Who typed a slash command, where."""
    return Caller(user_id=str(command.get("user_id", "")), team_id=str(command.get("team_id", "")),
                  channel_id=str(command.get("channel_id", "")), channel_name=str(command.get("channel_name", "")))


def click_caller(body: dict[str, Any]) -> Caller:
    """Who clicked a button, where (block_actions). The channel comes from ``channel`` or, when Slack leaves that
    out, the message's ``container``; none at all means no channel (refused by an allow-list, and matching no
    run)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""
    return Caller(user_id=str((body.get("user") or {}).get("id", "")), team_id=str(team), channel_id=str(channel))


def action_value(body: dict[str, Any]) -> str:
    """The clicked button's value (a run id, a scenario's name)."""
    return str(body["actions"][0].get("value", ""))


async def answer(respond: AsyncRespond, what: str, work: Awaitable[Answer | None]) -> None:
    """After the ack: the operation's answer, said privately. Whatever goes wrong, the user hears about it
    privately too (and the log has it)."""
    try:
        said = await work
    except Exception as err:  # the boundary of one user's request: tell them, log it, keep serving the others
        log.exception("%s failed", what)
        problem = f"Something went wrong with {what} ({escape(type(err).__name__)}); nothing more was done."
        await tell(respond, error_message(problem, ""))
        return
    if said is not None:
        await tell(respond, said.message)


async def tell(respond: AsyncRespond, message: Message) -> None:
    """``message``, privately, through the request's response_url."""
    try:
        await respond(**message.as_ephemeral())
    except (aiohttp.ClientError, TimeoutError, OSError) as err:  # Slack out of reach: nobody left to tell
        log.warning("could not answer privately: %s", err)


async def open_form(client: AsyncWebClient, trigger_id: str, context: FormContext, catalog: Catalog,
                    respond: AsyncRespond | None, request: FanoutRequest | None = None, scenario: str = "") -> None:
    """Open the run form (views.open, within 3 s of the trigger); a refusal is said privately, if it can be."""
    try:
        await client.views_open(trigger_id=trigger_id, view=run_form(context=context, request=request,
                                                                      scenario=scenario, catalog=catalog))
    except SlackApiError as err:
        log.warning("could not open the run form: %s", err.response.get("error"))
        if respond is not None:
            await tell(respond, error_message(f"Slack did not open the form "
                                              f"({escape(str(err.response.get('error')))}); try again, or type "
                                              "`/fanout <values> [options]`.", ""))
