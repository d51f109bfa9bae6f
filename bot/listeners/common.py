"""What every listener shares: who may use the bot where, and private answers when work fails."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.catalog import RECHECK_S, SCENARIOS, Catalog, ServedChildTypes
from bot.mrkdwn import escape
from bot.operations.runs import Operations
from bot.operations.waiting import Waiting
from bot.render.form import FormContext, run_form
from bot.render.replies import error_message
from bot.settings import Settings
from workflows.model import FanoutRequest

log = logging.getLogger("fanout.bot")


@dataclass(frozen=True)
class Context:
    settings: Settings
    ops: Operations
    waiting: Waiting  # schedules, approvals, Workflow Builder steps
    child_types: ServedChildTypes  # which child types some worker serves now

    def catalog(self, channel_id: str) -> Catalog:
        """What the parser, the help and the form offer in a channel ("": none is known, as on the Home): the
        scenarios offered there (the lab's and FANOUT_SCENARIOS'), and the child types workers serve as last
        read (never waiting on Temporal: this is what an ack is built from)."""
        return Catalog(SCENARIOS + self.settings.scenarios, self.child_types.child_types()).for_channel(channel_id)

    async def fresh_catalog(self, channel_id: str) -> Catalog:
        """The catalog after a read of the child types workers serve at most RECHECK_S old, for a child type the
        last read did not know (a worker that just started); after an ack, since it may wait ~1 s."""
        served = await self.child_types.fresh(max_age_s=RECHECK_S)
        return Catalog(SCENARIOS + self.settings.scenarios, served).for_channel(channel_id)


def refusal(settings: Settings, user_id: str, channel_id: str) -> str | None:
    """Why this user may not use /fanout here, or None. Empty allow-lists mean everyone."""
    if settings.allowed_channels and channel_id not in settings.allowed_channels:
        return "/fanout is not enabled in this channel (FANOUT_ALLOWED_CHANNELS)."
    if settings.allowed_users and user_id not in settings.allowed_users:
        return "You are not on the list of /fanout users (FANOUT_ALLOWED_USERS)."
    return None


def clicked_in(body: dict[str, Any]) -> tuple[str, str, str]:
    """(team id, user id, channel id) of a block_actions click. The channel comes from ``channel`` or, when
    Slack leaves that out, the message's ``container``; none at all means no channel (refused by an
    allow-list, and matching no run)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    team = (body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or ""
    return str(team), str((body.get("user") or {}).get("id", "")), str(channel)


async def guarded(respond: AsyncRespond, what: str, work: Awaitable[object]) -> None:
    """After the ack: whatever goes wrong, the user hears about it privately (and the log has it)."""
    try:
        await work
    except Exception as err:
        log.exception("%s failed", what)
        problem = f"Something went wrong with {what} ({escape(type(err).__name__)}); nothing more was done."
        try:
            await respond(**error_message(problem, "").as_ephemeral())
        except Exception:
            log.exception("could not tell the user that %s failed", what)


async def open_form(client: AsyncWebClient, trigger_id: str, context: FormContext, respond: AsyncRespond | None,
                    catalog: Catalog, request: FanoutRequest | None = None, scenario: str = "") -> None:
    """Open the run form (views.open, within 3 s of the trigger); a refusal is said privately, if it can be."""
    try:
        await client.views_open(trigger_id=trigger_id, view=run_form(context=context, request=request,
                                                                      scenario=scenario, catalog=catalog))
    except SlackApiError as err:
        log.warning("could not open the run form: %s", err.response.get("error"))
        if respond is not None:
            await respond(**error_message(f"Slack did not open the form ({escape(str(err.response.get('error')))}); "
                                          "try again, or type `/fanout <values> [options]`.", "").as_ephemeral())
