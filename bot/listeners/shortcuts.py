"""The global shortcut "Start a fan-out": opens the run form, which asks for the channel (a global
shortcut carries none)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.listeners.common import Context, log
from bot.render.form import FormContext, run_form


def register(app: AsyncApp, ctx: Context) -> None:
    @app.shortcut("fanout_new_run")  # the manifest's callback_id (tests/test_manifest.py reads it here)
    async def start_a_fanout(ack: AsyncAck, shortcut: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        try:  # within 3 s of the trigger
            await client.views_open(trigger_id=shortcut["trigger_id"],
                                    view=run_form(context=FormContext(), catalog=ctx.catalog("")))
        except Exception:
            log.exception("could not open the run form")
