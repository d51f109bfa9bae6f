"""Events API: ``app_home_opened`` publishes the user's Home tab (through their HomeWorkflow, bot.home:
coalesced, and within views.publish's rate tier)."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.listeners.common import Context, log


def register(app: AsyncApp, ctx: Context) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        if event.get("tab") != "home":  # the Messages tab: nothing to draw
            return
        team_id = str(body.get("team_id") or event.get("view", {}).get("team_id") or "")
        try:
            await ctx.ops.refresh_home(team_id, str(event.get("user", "")))
        except Exception as err:  # Temporal unreachable: the tab shows its last content
            log.warning("could not refresh the Home tab of %s: %s", event.get("user"), err)
