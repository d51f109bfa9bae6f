"""Bolt listeners, one module per Slack surface (as in slack-samples/bolt-python-starter-template). Each listener
is a named function that calls ``ack()`` first, then hands over to the operations (bot.operations), which every
listener is given as its ``ops`` argument: a middleware puts them in Bolt's context, and Bolt passes context
values to listeners by name."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.listeners import actions, commands, events, functions, shortcuts, views
from bot.operations.operations import Operations


def register(app: AsyncApp, ops: Operations) -> None:
    async def give_operations(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["ops"] = ops
        await next()

    app.middleware(give_operations)
    for surface in (commands, actions, views, shortcuts, events, functions):
        surface.register(app)
