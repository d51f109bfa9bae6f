"""What Slack sends to the app: slash commands, button clicks (block_actions), view submissions, global
shortcuts and Events API events, as Slack would deliver them — form (or, for events, JSON) bodies, signed
with the signing secret for HTTP mode (``post_signed``); the same fields make Socket Mode envelopes'
payloads; and a modal's inputs, filled in and submitted as Slack does (``state_of``). Used by the tests, the
benchmark and ``make dev``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp

from bot.render.form import ACTION as FORM_ACTION
from devkit.fake_slack import blockkit


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    content_type = "application/json" if body.startswith("{") else "application/x-www-form-urlencoded"
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}", "Content-Type": content_type}


def _trigger_id() -> str:
    return f"{int(time.time())}.{time.monotonic_ns() % 10**12}.fake"


def slash_command_body(
    text: str, *, user_id: str = "U1", user_name: str = "alice", channel_id: str = "C1",
    channel_name: str = "general", team_id: str = "T1", response_url: str, trigger_id: str | None = None,
    command: str = "/fanout",
) -> str:
    return urlencode({
        "token": "fake-verification-token", "team_id": team_id, "team_domain": "fake", "channel_id": channel_id,
        "channel_name": channel_name, "user_id": user_id, "user_name": user_name, "command": command, "text": text,
        "api_app_id": "A1", "is_enterprise_install": "false", "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    })


def block_actions_body(
    action_id: str, value: str, *, user_id: str = "U1", channel_id: str = "C1", message_ts: str, response_url: str,
    container_thread_ts: str | None = None, trigger_id: str | None = None,
) -> str:
    container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel_id,
                                 "is_ephemeral": False}
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "text": "", "blocks": [], "user": "UBOT"}
    if container_thread_ts:
        container["thread_ts"] = message["thread_ts"] = container_thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions", "user": {"id": user_id, "username": "alice", "name": "alice", "team_id": "T1"},
        "api_app_id": "A1", "token": "fake-verification-token", "container": container,
        "trigger_id": trigger_id or _trigger_id(), "team": {"id": "T1", "domain": "fake"},
        "enterprise": None, "is_enterprise_install": False, "channel": {"id": channel_id, "name": "general"},
        "message": message, "state": {"values": {}}, "response_url": response_url,
        "actions": [{"action_id": action_id, "block_id": "fanout", "value": value, "type": "button",
                     "action_ts": f"{time.time():.6f}"}],
    }
    return urlencode({"payload": json.dumps(payload)})


def _user(user_id: str, team_id: str) -> dict[str, Any]:
    return {"id": user_id, "username": user_id.lower(), "name": user_id.lower(), "team_id": team_id}


def view_submission_body(view: dict[str, Any], values: dict[str, dict[str, Any]], *, user_id: str = "U1",
                         team_id: str = "T1") -> str:
    """A modal submitted: ``view`` as views.open answered it (with its ``id``), ``values`` its state
    (block id -> action id -> the element's state, e.g. ``{"type": "plain_text_input", "value": "1-5"}``)."""
    submitted = {**view, "state": {"values": values}, "team_id": team_id}
    payload = {"type": "view_submission", "team": {"id": team_id, "domain": "fake"}, "user": _user(user_id, team_id),
               "api_app_id": "A1", "token": "fake-verification-token", "trigger_id": _trigger_id(),
               "view": submitted, "response_urls": [], "is_enterprise_install": False}
    return urlencode({"payload": json.dumps(payload)})


def shortcut_body(callback_id: str, *, user_id: str = "U1", team_id: str = "T1", trigger_id: str | None = None) -> str:
    """A global shortcut: no channel, no message."""
    payload = {"type": "shortcut", "callback_id": callback_id, "trigger_id": trigger_id or _trigger_id(),
               "user": _user(user_id, team_id), "team": {"id": team_id, "domain": "fake"}, "api_app_id": "A1",
               "token": "fake-verification-token", "action_ts": f"{time.time():.6f}", "is_enterprise_install": False}
    return urlencode({"payload": json.dumps(payload)})


def home_action_body(action_id: str, value: str, *, user_id: str = "U1", team_id: str = "T1") -> str:
    """A button clicked on the App Home: the container is the view, there is no channel and no response_url."""
    payload = {"type": "block_actions", "user": _user(user_id, team_id), "api_app_id": "A1",
               "token": "fake-verification-token", "container": {"type": "view", "view_id": "VHOME"},
               "trigger_id": _trigger_id(), "team": {"id": team_id, "domain": "fake"}, "is_enterprise_install": False,
               "view": {"id": "VHOME", "type": "home", "blocks": []},
               "actions": [{"action_id": action_id, "block_id": "fanout", "value": value, "type": "button",
                            "action_ts": f"{time.time():.6f}"}]}
    return urlencode({"payload": json.dumps(payload)})


def view_action_body(action_id: str, value: str, view: dict[str, Any], *, user_id: str = "U1", team_id: str = "T1",
                     trigger_id: str | None = None) -> str:
    """A button clicked inside a modal: the container is the view, which Slack sends whole (its ``id``, ``hash``,
    ``private_metadata``, the stack's ``root_view_id`` and ``previous_view_id``); no channel, no response_url."""
    payload = {"type": "block_actions", "user": _user(user_id, team_id), "api_app_id": "A1",
               "token": "fake-verification-token", "container": {"type": "view", "view_id": view["id"]},
               "trigger_id": trigger_id or _trigger_id(), "team": {"id": team_id, "domain": "fake"},
               "is_enterprise_install": False, "view": view,
               "actions": [{"action_id": action_id, "block_id": "fanout", "value": value, "type": "button",
                            "action_ts": f"{time.time():.6f}"}]}
    return urlencode({"payload": json.dumps(payload)})


def event_body(event: dict[str, Any], *, team_id: str = "T1") -> str:
    """An Events API delivery (JSON): ``event_callback`` wrapping ``event``."""
    return json.dumps({"token": "fake-verification-token", "team_id": team_id, "api_app_id": "A1",
                       "event": event, "type": "event_callback", "event_id": f"Ev{time.monotonic_ns()}",
                       "event_time": int(time.time()), "authorizations": [{"team_id": team_id, "user_id": "UBOT",
                                                                           "is_bot": True}]})


def function_executed(callback_id: str, inputs: dict[str, Any], *, execution_id: str, bot_access_token: str,
                      team_id: str = "T1") -> str:
    """A Workflow Builder step of this app runs: Slack sends ``function_executed`` with a short-lived token."""
    return event_body({"type": "function_executed", "function": {"id": "Fn0001", "callback_id": callback_id,
                                                                 "title": callback_id, "type": "app"},
                       "inputs": inputs, "function_execution_id": execution_id, "workflow_execution_id": "Wx0001",
                       "event_ts": f"{time.time():.6f}", "bot_access_token": bot_access_token}, team_id=team_id)


def app_home_opened(user_id: str, *, tab: str = "home", team_id: str = "T1") -> str:
    return event_body({"type": "app_home_opened", "user": user_id, "channel": f"D{user_id}", "tab": tab,
                       "event_ts": f"{time.time():.6f}"}, team_id=team_id)


async def post_signed(
    url: str, body: str, secret: str, *, timestamp: int | None = None, session: aiohttp.ClientSession | None = None
) -> tuple[int, str, float]:
    """Deliver ``body`` as Slack would; (HTTP status, the ack's body as Slack takes it, seconds). An ack Slack
    refuses (blocks it refuses in a slash command's answer, errors keyed to no input of a form) comes back as
    Slack's error instead (``ack_refusal``): the user never sees that ack."""
    own = session is None
    client = session or aiohttp.ClientSession()
    started = time.monotonic()
    try:
        async with client.post(url, data=body.encode(), headers=sign(secret, body, timestamp)) as res:
            status, ack = res.status, await res.text()
    finally:
        if own:
            await client.close()
    refused = ack_refusal(body, ack) if status == 200 else None
    return status, json.dumps(refused) if refused else ack, time.monotonic() - started


def ack_refusal(request_body: str, ack: str) -> dict[str, Any] | None:
    """What Slack does with an app's ack: a slash command's answer is a message (blockkit.message_problems: else
    ``invalid_command_response``); a form's answer is checked against the submitted view
    (blockkit.view_submission_ack_problems). None when Slack takes it."""
    if not ack.strip() or request_body.startswith("{"):  # nothing to show, or an event (its ack has no body)
        return None
    form = dict(parse_qsl(request_body))
    try:
        answer = json.loads(ack)
    except ValueError:  # plain text: a slash command's answer as text
        return None
    if "command" in form:
        problems = blockkit.message_problems(answer) if isinstance(answer, dict) else ["[ERROR] must be an object"]
        return {"ok": False, "error": "invalid_command_response",
                "response_metadata": {"messages": problems}} if problems else None
    payload = json.loads(form.get("payload", "{}"))
    if payload.get("type") == "view_submission":
        problems = blockkit.view_submission_ack_problems(answer, payload.get("view") or {})
        return {"ok": False, "error": "invalid_view_submission_response",
                "response_metadata": {"messages": problems}} if problems else None
    return None


# -- a form, filled in as Slack submits it ---------------------------------------------------------------

@dataclass(frozen=True)
class Field:
    """One input of a form, as a prompt shows it (the console fills the form in, field by field)."""

    block_id: str
    label: str
    kind: str  # the element's type: plain_text_input, static_select, radio_buttons, number_input, ...
    choices: tuple[tuple[str, str], ...]  # (value, label)
    default: str


def fields(view: dict[str, Any]) -> list[Field]:
    out = []
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        element = block["element"]
        initial = element.get("initial_option") or {}
        default = str(initial.get("value") or element.get("initial_value") or "")
        choices = tuple((o["value"], o["text"]["text"]) for o in element.get("options", []))
        out.append(Field(block["block_id"], block["label"]["text"], element["type"], choices, default))
    return out


def state_of(view: dict[str, Any], **typed: Any) -> dict[str, Any]:
    """What Slack submits for ``view`` filled in as it opened (its initial values), with ``typed`` (block id ->
    a value typed or chosen) over them: the ``view.state.values`` of a view_submission."""
    values: dict[str, Any] = {}
    for field in fields(view):
        given = typed.get(field.block_id)
        value = str(given) if given is not None else field.default
        if field.kind in ("static_select", "radio_buttons"):
            values[field.block_id] = {FORM_ACTION: {"type": field.kind,
                                               "selected_option": {"value": value} if value else None}}
        elif field.kind == "conversations_select":
            values[field.block_id] = {FORM_ACTION: {"type": field.kind, "selected_conversation": value or None}}
        else:
            values[field.block_id] = {FORM_ACTION: {"type": field.kind, "value": value or None}}
    return values
