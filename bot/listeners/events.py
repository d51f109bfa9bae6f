"""Events API: ``app_home_opened`` publishes the user's Home tab (through their HomeWorkflow, bot.home.tab:
coalesced, and within views.publish's rate tier)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from temporalio.service import RPCError

from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from runtime.temporal import TemporalUnavailable

log = logging.getLogger("fanout.bot")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)


async def home_opened(event: dict[str, Any], body: dict[str, Any], ops: Operations) -> None:
    if event.get("tab") != "home":  # the Messages tab: nothing to draw
        return
    team_id = str(body.get("team_id") or event.get("view", {}).get("team_id") or "")
    user_id = str(event.get("user", ""))
    try:
        await ops.open_home(Caller(user_id=user_id, team_id=team_id))
    except (TemporalUnavailable, RPCError, TimeoutError) as err:  # Temporal away: the tab shows its last content
        log.warning("could not refresh the Home tab of %s: %s", user_id, err)
