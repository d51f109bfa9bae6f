"""The global shortcut "Start a fan-out": opens the run form, which asks for the channel (a global shortcut
carries none)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.shared import open_form
from bot.operations.operations import Operations
from bot.render.form import FormContext


def register(app: AsyncApp) -> None:
    app.shortcut("fanout_new_run")(start_a_fanout)  # the manifest's callback_id (tests/test_manifest.py reads it)


async def start_a_fanout(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient, ops: Operations) -> None:
    await ack()
    await open_form(client, str(shortcut.get("trigger_id", "")), FormContext(), ops.catalog(""), None)
