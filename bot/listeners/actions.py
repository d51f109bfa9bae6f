"""Buttons (block_actions): Cancel, Details and Open in Temporal UI on a run's message; Retry failed, Run again,
Edit and run and Details on its summary; Approve and Reject on a run waiting for an approval; New run (and each
scenario) on the App Home and in the help; and inside the Details modal, Refresh, its filters, its pages, a child's
Story and a batch's Failures. They obey the same allow-lists, channel rules and per-user cap as the command."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.home.view import NEW_RUN_ACTIONS
from bot.listeners.shared import (
    action_value,
    answer,
    click_caller,
    details_view,
    modal_caller,
    open_details,
    open_form,
    tell,
    update_details,
)
from bot.operations.answers import Answer
from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from bot.render.details import BATCH_ACTION, CHILD_ACTION, MOVE_ACTION, OPEN_ACTION, Place
from bot.render.form import FormContext
from bot.render.replies import error_message

log = logging.getLogger("fanout.bot")


def register(app: AsyncApp) -> None:
    app.action("fanout_cancel")(cancel_clicked)
    app.action("fanout_retry")(retry_clicked)
    app.action("fanout_open_ui")(open_ui_clicked)
    app.action("fanout_approve")(approve_clicked)
    app.action("fanout_reject")(reject_clicked)
    app.action("fanout_run_again")(run_again_clicked)
    app.action("fanout_edit_run")(edit_and_run_clicked)
    app.action(OPEN_ACTION)(details_clicked)
    app.action(re.compile(f"^{MOVE_ACTION}:"))(details_moved)  # Refresh, the filters, Previous and Next
    app.action(CHILD_ACTION)(child_clicked)
    app.action(BATCH_ACTION)(batch_clicked)
    app.action(NEW_RUN_ACTIONS)(new_run_clicked)  # New run, and each scenario's button (each its own action_id)


async def _permitted(ops: Operations, body: dict[str, Any], respond: AsyncRespond) -> Caller | None:
    """Who clicked, if the allow-lists let them; else a private refusal."""
    caller = click_caller(body)
    if problem := ops.refusal(caller):
        await tell(respond, error_message(problem, ""))
        return None
    return caller


async def cancel_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ops: Operations) -> None:
    await ack()
    if caller := await _permitted(ops, body, respond):
        await answer(respond, "Cancel", ops.runs.cancel(caller, action_value(body)))


async def retry_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ops: Operations) -> None:
    await ack()
    if caller := await _permitted(ops, body, respond):
        # The summary is a reply in the run's thread: the retry answers in that same thread.
        message, container = body.get("message") or {}, body.get("container") or {}
        thread_ts = message.get("thread_ts") or container.get("thread_ts") or message.get("ts", "")
        await answer(respond, "Retry failed", ops.runs.retry_failed(
            caller, action_value(body), thread_ts=str(thread_ts), trigger_id=str(body.get("trigger_id", ""))))


async def details_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          ops: Operations) -> None:
    """Details on a run's message or summary: the run's modal, for the run's channel (where the click was)."""
    await ack()
    caller = click_caller(body)
    await open_details(client, str(body.get("trigger_id", "")), ops, caller, Place(action_value(body),
                                                                                   caller.channel_id),
                       respond=respond)


def _clicked_in(body: dict[str, Any]) -> tuple[dict[str, Any], Place] | None:
    """The Details view a button was clicked in, and its place (None for a view that is not one: logged)."""
    view = body.get("view") or {}
    place = Place.decode(view.get("private_metadata"))
    if place is None or not view.get("id"):
        log.warning("a Details button in a view without its place: %s", view.get("callback_id"))
        return None
    return view, place


async def details_moved(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, ops: Operations) -> None:
    """Refresh, a filter, Previous or Next inside a Details view: the same view, updated in place."""
    await ack()
    if (clicked := _clicked_in(body)) is None:
        return
    view, place = clicked
    move = str(body["actions"][0].get("action_id", "")).partition(":")[2]
    target = (place if move == "refresh" else place.turned(forward=move == "next") if move in ("prev", "next")
              else place.showing(move))
    shown = await details_view(ops, modal_caller(body, place), target)
    await update_details(client, str(view["id"]), str(view.get("hash") or ""), shown)


async def child_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, ops: Operations) -> None:
    """A failed or retried child's Story: pushed over the run's modal."""
    await ack()
    await _push(body, client, ops, "child")


async def batch_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, ops: Operations) -> None:
    """A batch's Failures: pushed over the run's modal."""
    await ack()
    await _push(body, client, ops, "batch")


async def _push(body: dict[str, Any], client: AsyncWebClient, ops: Operations, what: str) -> None:
    if (clicked := _clicked_in(body)) is None:
        return
    view, place = clicked
    if view.get("previous_view_id"):  # only the run's modal pushes: a stack of two, within Slack's three
        log.warning("a pushed Details view does not push again (%s)", view.get("callback_id"))
        return
    value = action_value(body)
    if not value.isdigit():
        log.warning("a Details %s button without its index: %r", what, value)
        return
    target = place.pushed(child=int(value)) if what == "child" else place.pushed(batch=int(value))
    await open_details(client, str(body.get("trigger_id", "")), ops, modal_caller(body, place), target, push=True)


async def open_ui_clicked(ack: AsyncAck) -> None:
    await ack()  # a link button: Slack opens the URL; the action still has to be acked


async def approve_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ops: Operations) -> None:
    await ack()
    if caller := await _permitted(ops, body, respond):
        await answer(respond, "Approve", ops.approvals.decide(caller, action_value(body), approve=True))


async def reject_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ops: Operations) -> None:
    await ack()
    if caller := await _permitted(ops, body, respond):
        await answer(respond, "Reject", ops.approvals.decide(caller, action_value(body), approve=False))


async def run_again_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, ops: Operations) -> None:
    await ack()
    if caller := await _permitted(ops, body, respond):
        await answer(respond, "Run again", ops.runs.run_again(caller, action_value(body)))


async def edit_and_run_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                               ops: Operations) -> None:
    await ack()
    if (caller := await _permitted(ops, body, respond)) is None:
        return
    found = await ops.runs.request_of(caller, action_value(body))
    if isinstance(found, Answer):
        await tell(respond, found.message)
        return
    # The form, filled in with the run's request, for the run's channel.
    await open_form(client, str(body.get("trigger_id", "")), FormContext(channel_id=caller.channel_id),
                    ops.catalog(caller.channel_id), respond, request=found[1])


async def new_run_clicked(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient,
                          ops: Operations) -> None:
    await ack()
    # From the help (in a channel) the form is for that channel; from the App Home it asks for one.
    caller = click_caller(body)
    in_home = (body.get("view") or {}).get("type") == "home"
    if not in_home and (problem := ops.refusal(caller)):
        await tell(respond, error_message(problem, ""))
        return
    channel_id = "" if in_home else caller.channel_id
    await open_form(client, str(body.get("trigger_id", "")), FormContext(channel_id=channel_id),
                    ops.catalog(channel_id), None if in_home else respond, scenario=action_value(body))
