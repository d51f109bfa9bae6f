"""``Operations``: every operation /fanout offers, in one object that each surface is given: the Slack
listeners (bot.listeners) and the terminal CLI (bot.cli). Runs, schedules, approvals, Workflow Builder steps and a
run's details each have their own module; here is what they share: the settings, what a channel is offered (the
catalog), the allow-lists, and the Home tab's refresh."""

from __future__ import annotations

import asyncio

from bot.catalog import RECHECK_S, SCENARIOS, Catalog, ServedChildTypes
from bot.home.tab import HomeUser, ask_to_publish
from bot.language.grammar import Command, ParseError, parse
from bot.operations.approvals import Approvals
from bot.operations.details import Details
from bot.operations.permissions import Caller, refusal
from bot.operations.runs import COMMAND_BUDGET_S, Runs
from bot.operations.schedules import Schedules
from bot.operations.start import Deployment
from bot.operations.steps import Steps
from bot.settings import Settings
from runtime.temporal import TemporalGateway


class Operations:
    def __init__(self, settings: Settings, gateway: TemporalGateway, deployment: Deployment,
                 child_types: ServedChildTypes) -> None:
        self.settings = settings
        self.child_types = child_types
        self.runs = Runs(settings, gateway, deployment)
        self.schedules = Schedules(self.runs)
        self.approvals = Approvals(self.runs)
        self.steps = Steps(self.runs)
        self.details = Details(self.runs)

    def refusal(self, caller: Caller) -> str | None:
        """Why this caller may not use /fanout here (the allow-lists), or None."""
        return refusal(self.settings, caller)

    def catalog(self, channel_id: str) -> Catalog:
        """What the parser, the help and the form offer in a channel ("": none is known, as on the Home): the
        scenarios offered there (the lab's and FANOUT_SCENARIOS'), and the child types workers serve as last
        read (never waiting on Temporal: this is what an ack is built from)."""
        return Catalog(SCENARIOS + self.settings.scenarios, self.child_types.child_types()).for_channel(channel_id)

    async def fresh_catalog(self, channel_id: str) -> Catalog:
        """The catalog after a read of the child types workers serve at most RECHECK_S old, for a child type the
        last read did not know (a worker that just started): after an ack, since it may wait ~1 s."""
        served = await self.child_types.fresh(max_age_s=RECHECK_S)
        return Catalog(SCENARIOS + self.settings.scenarios, served).for_channel(channel_id)

    def parse(self, text: str, catalog: Catalog) -> Command | ParseError:
        return parse(text, max_values=self.settings.max_values, catalog=catalog)

    async def open_home(self, caller: Caller) -> None:
        """The caller opened the app's Home tab: their HomeWorkflow publishes it (coalesced, within Slack's tier)."""
        client = await self.runs.gateway.client()
        async with asyncio.timeout(COMMAND_BUDGET_S):
            await ask_to_publish(client, self.runs.deployment.workflow_queue, HomeUser(caller.team_id,
                                                                                        caller.user_id))
