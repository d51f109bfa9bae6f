"""Bolt listeners, grouped by Slack surface (as in slack-samples/bolt-python-starter-template).

Each listener is a small function that calls ``ack()`` first, then hands over to bot.operations.
"""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.listeners import actions, commands, events, functions, shortcuts, views
from bot.listeners.common import Context


def register_listeners(app: AsyncApp, ctx: Context) -> None:
    for surface in (commands, actions, views, shortcuts, events, functions):
        surface.register(app, ctx)
