"""Slack's end of Socket Mode, on loopback: the app gets this server's ws:// URL from
``apps.connections.open`` (FakeSlack.socket_url), connects, receives ``hello``, then envelopes
(slash commands, button clicks) that it must ack over the same socket. Acks are recorded.

Wire format as Slack documents it and slack_sdk's aiohttp SocketModeClient speaks it: text frames of
JSON; an envelope is ``{"envelope_id", "type", "payload", "accepts_response_payload"}``; the ack is
``{"envelope_id"[, "payload"]}``; ``{"type": "disconnect"}`` asks the app to reconnect.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import WSMsgType, web

from devkit.fake_slack.requests import block_actions_body, slash_command_body


class FakeSocketMode:
    def __init__(self) -> None:
        self.connects = 0
        self.acks: dict[str, tuple[dict[str, Any], float]] = {}  # envelope_id -> (ack, seconds to ack)
        self._sent_at: dict[str, float] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"ws://127.0.0.1:{self._runner.addresses[0][1]}/link"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeSocketMode:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def connected(self) -> int:
        return sum(not ws.closed for ws in self._sockets)

    async def wait_connected(self, connects: int = 1, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while self.connects < connects or not self.connected:
            if time.monotonic() > deadline:
                raise AssertionError(f"the app did not connect (connects={self.connects})")
            await asyncio.sleep(0.05)

    # -- what Slack sends ------------------------------------------------------------------------------

    async def slash_command(self, text: str, *, response_url: str, user_id: str = "U1",
                            channel_id: str = "C1", trigger_id: str | None = None) -> str:
        form = slash_command_body(text, user_id=user_id, channel_id=channel_id, response_url=response_url,
                                  trigger_id=trigger_id or f"trigger-{uuid.uuid4().hex}")
        return await self._send("slash_commands", dict(parse_qsl(form)))

    async def click(self, action_id: str, value: str, *, message_ts: str, response_url: str,
                    thread_ts: str | None = None, user_id: str = "U1", channel_id: str = "C1") -> str:
        form = block_actions_body(action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts,
                                  response_url=response_url, container_thread_ts=thread_ts)
        return await self._send("interactive", json.loads(dict(parse_qsl(form))["payload"]))

    async def ask_to_reconnect(self) -> None:
        """What Slack sends before it recycles a connection (every few hours)."""
        for ws in self._open():
            await ws.send_json({"type": "disconnect", "reason": "refresh_requested",
                                "debug_info": {"host": "fake"}})

    async def ack(self, envelope_id: str, timeout: float = 10.0) -> tuple[dict[str, Any], float]:
        deadline = time.monotonic() + timeout
        while envelope_id not in self.acks:
            if time.monotonic() > deadline:
                raise AssertionError(f"no ack for envelope {envelope_id}")
            await asyncio.sleep(0.01)
        return self.acks[envelope_id]

    # -- plumbing --------------------------------------------------------------------------------------

    def _open(self) -> list[web.WebSocketResponse]:
        return [ws for ws in self._sockets if not ws.closed]

    async def _send(self, kind: str, payload: dict[str, Any]) -> str:
        sockets = self._open()
        if not sockets:
            raise AssertionError("no Socket Mode connection open")
        envelope_id = uuid.uuid4().hex
        self._sent_at[envelope_id] = time.monotonic()
        await sockets[-1].send_json({"envelope_id": envelope_id, "type": kind, "payload": payload,
                                     "accepts_response_payload": True, "retry_attempt": 0, "retry_reason": ""})
        return envelope_id

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()  # autoping: answers the client's sdk-ping-pong pings
        await ws.prepare(request)
        self.connects += 1
        self._sockets.append(ws)
        await ws.send_json({"type": "hello", "num_connections": len(self._open()),
                            "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                            "connection_info": {"app_id": "A1"}})
        async for message in ws:
            if message.type == WSMsgType.TEXT:
                data = json.loads(message.data)
                if envelope_id := data.get("envelope_id"):
                    self.acks[envelope_id] = (data, time.monotonic() - self._sent_at.get(envelope_id, 0.0))
        return ws
