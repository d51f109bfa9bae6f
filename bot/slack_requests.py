"""What Slack sends to the app: slash commands and button clicks (block_actions) as Slack would
deliver them — form bodies, signed with the signing secret for HTTP mode (``post_signed``); the same
fields make Socket Mode envelopes' payloads. Used by the tests, the benchmark and ``make dev``."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}",
            "Content-Type": "application/x-www-form-urlencoded"}


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


async def post_signed(
    url: str, body: str, secret: str, *, timestamp: int | None = None, session: aiohttp.ClientSession | None = None
) -> tuple[int, str, float]:
    own = session is None
    client = session or aiohttp.ClientSession()
    started = time.monotonic()
    try:
        async with client.post(url, data=body.encode(), headers=sign(secret, body, timestamp)) as res:
            return res.status, await res.text(), time.monotonic() - started
    finally:
        if own:
            await client.close()
