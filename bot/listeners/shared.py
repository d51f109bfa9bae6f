"""What the surfaces' listeners share: who asks (from a payload), answering privately after the ack (and when
the work fails), opening the run form, and the Details modal: opened (or pushed) at once with a loading view
within the trigger's 3 s, then updated with what Temporal says."""

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
from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from bot.render.blocks import Message
from bot.render.details import Place, answer_view, loading_view, view_of
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


# -- the Details modal ------------------------------------------------------------------------------------------

def modal_caller(body: dict[str, Any], place: Place) -> Caller:
    """Who clicked a button inside a Details view, and where: a modal's buttons carry no channel, so the run's
    channel comes from the view's place (its private_metadata), and every action is checked against it."""
    user = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or user.get("team_id") or ""
    return Caller(user_id=str(user.get("id", "")), team_id=str(team), channel_id=place.channel_id)


async def details_view(ops: Operations, caller: Caller, place: Place) -> dict[str, Any]:
    """What the view at ``place`` shows: the run's page, a child's story or a batch's failures; or, in their place,
    the answer that says why not (the allow-lists, no such run in this channel, Temporal away)."""
    if problem := ops.refusal(caller):
        return answer_view(error_message(problem, ""), place)
    try:
        shown = await ops.details.at(caller, place)
        return answer_view(shown.message, place) if isinstance(shown, Answer) else view_of(shown, place)
    except Exception as err:  # the boundary of one user's request: tell them, log it, keep serving the others
        log.exception("Details of %s failed", place.run_id)
        problem = f"Something went wrong with Details ({escape(type(err).__name__)}); nothing more was done."
        return answer_view(error_message(problem, ""), place)


async def open_details(client: AsyncWebClient, trigger_id: str, ops: Operations, caller: Caller, place: Place, *,
                       push: bool = False, respond: AsyncRespond | None = None) -> None:
    """``views.open`` (``views.push`` over the run's modal) at once, with a loading view, within the trigger's 3 s;
    then ``views.update`` with what Temporal says, which may take longer."""
    try:
        opened = await (client.views_push if push else client.views_open)(trigger_id=trigger_id,
                                                                          view=loading_view(place))
    except SlackApiError as err:
        log.warning("could not open the details of %s: %s", place.run_id, err.response.get("error"))
        if respond is not None:
            await tell(respond, error_message(f"Slack did not open the details "
                                              f"({escape(str(err.response.get('error')))}); try again, or type "
                                              f"`/fanout details {escape(place.run_id)}`.", ""))
        return
    view = opened["view"]
    await update_details(client, str(view["id"]), str(view.get("hash") or ""), await details_view(ops, caller, place))


async def update_details(client: AsyncWebClient, view_id: str, view_hash: str, view: dict[str, Any]) -> None:
    """``views.update`` with the hash of the view as it was read: if another action changed it since
    (``hash_conflict``), that one is newer and stays; this update is dropped."""
    try:
        await client.views_update(view_id=view_id, hash=view_hash or None, view=view)
    except SlackApiError as err:
        error = err.response.get("error")
        if error == "hash_conflict":
            log.info("view %s changed meanwhile: this update is dropped (hash_conflict)", view_id)
        else:  # the user closed it (not_found), Slack refused it: nobody left to show it to
            log.warning("could not update view %s: %s", view_id, error)
