"""What one deployment offers: its scenarios and its child types.

The lab's three scenarios and two child types are always there. A deployment adds scenarios from a file
(FANOUT_SCENARIOS, bot.language.scenario_file) and child types from plugins its workers serve, which
``ServedChildTypes`` reads from Temporal (the workers' announcements, runtime.plugins) and keeps for a while,
so an ack never waits on Temporal. The parser, the help, the form and the Home all take a ``Catalog``, so
they offer the same.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from temporalio.client import Client
from temporalio.service import RPCError

from runtime.plugins import announced_child_types
from runtime.temporal import TemporalUnavailable
from workflows.model import ChildPlugin, ValueRange
from workflows.rules import CHILD_TYPES
from workflows.values import compress


@dataclass(frozen=True)
class Scenario:
    name: str
    values: tuple[ValueRange, ...]  # ranges, never expanded: a file's scenario may be 1-1000000
    help: str  # its one-line description
    options: str = ""  # /fanout options it runs with; the user's own options override these
    channels: frozenset[str] = frozenset()  # the channel ids it is offered in; empty: everywhere

    def offered_in(self, channel_id: str) -> bool:
        """Whether a channel is offered it. "" (the Home, the CLI: no channel) is offered only unlimited ones."""
        return not self.channels or channel_id in self.channels


@dataclass(frozen=True)
class OfferedChildType:
    name: str
    description: str
    lab: bool = False  # the lab's own: `--fail` and `--delay` shape it; a team's child fails on its own
    plugin: ChildPlugin | None = None  # a team's: where its children run (bot.catalog)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("all-success", tuple(compress((1, 3, 5, 7, 9))), "odd values, every child succeeds"),
    Scenario("all-failures", tuple(compress((2, 4, 6, 8))), "even values, every child fails"),
    Scenario("large-scale", tuple(compress(range(1, 16))), "15 children, about half fail"),
)
LAB_CHILD_TYPES: tuple[OfferedChildType, ...] = tuple(OfferedChildType(name, what, lab=True)
                                                      for name, what in CHILD_TYPES.items())


@dataclass(frozen=True)
class Catalog:
    scenarios: tuple[Scenario, ...] = SCENARIOS
    child_types: tuple[OfferedChildType, ...] = LAB_CHILD_TYPES
    elsewhere: frozenset[str] = frozenset()  # scenarios offered only in other channels (refused as such)

    def for_channel(self, channel_id: str) -> Catalog:
        """What one channel is offered ("": where no channel is known): scenarios limited to other channels
        are left out, and remembered by name so the parser can say why it refuses them."""
        offered = tuple(s for s in self.scenarios if s.offered_in(channel_id))
        hidden = {s.name for s in self.scenarios if not s.offered_in(channel_id)}
        return replace(self, scenarios=offered, elsewhere=self.elsewhere | hidden)

    def child_type(self, name: str) -> OfferedChildType | None:
        return next((c for c in self.child_types if c.name == name), None)

    def scenario(self, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.name == name), None)


LAB = Catalog()


log = logging.getLogger("fanout.bot")
REFRESH_S = 10.0  # how long the bot trusts what it read
RECHECK_S = 1.0  # a child type the last read did not know: read again unless that read is younger than this
READ_BUDGET_S = 1.0  # what fresh() waits by default


@dataclass
class ServedChildTypes:
    """The child types workers serve now (the lab's, and each plugin type with a live poller), read from
    the catalog queues' pollers and trusted for REFRESH_S.

    ``child_types()`` never waits on Temporal: it answers with what was read last (the lab's before the first
    read) and, when that is stale, starts one read in the background (never more than one at a time). So a
    command is acked at once, whatever Temporal does. ``fresh()`` waits, within a budget, for a read: for what
    happens after the ack (a child type the last read did not know) and for the CLI."""

    client: Callable[[], Awaitable[Client]]
    fanout_queue: str
    warn: bool = True  # log when Temporal does not answer (the CLI says so itself)
    _read_at: float = -1e9
    _types: tuple[OfferedChildType, ...] = LAB_CHILD_TYPES
    _reading: asyncio.Task[None] | None = None

    def child_types(self) -> tuple[OfferedChildType, ...]:
        if self._stale():
            self._read_in_background()
        return self._types

    async def fresh(self, budget_s: float = READ_BUDGET_S,
                    max_age_s: float = REFRESH_S) -> tuple[OfferedChildType, ...]:
        """The child types as read at most ``max_age_s`` ago (reading now, or joining the read under way if
        that is older), waiting at most ``budget_s`` for the read."""
        if self._stale(max_age_s):
            reading = self._read_in_background()
            try:
                await asyncio.wait_for(asyncio.shield(reading), budget_s)
            except TimeoutError:
                log.log(logging.WARNING if self.warn else logging.DEBUG,
                        "could not read which child types workers serve within %.0f s", budget_s)
        return self._types

    def _stale(self, max_age_s: float = REFRESH_S) -> bool:
        return time.monotonic() - self._read_at >= max_age_s

    def _read_in_background(self) -> asyncio.Task[None]:
        if self._reading is None:
            self._reading = asyncio.get_running_loop().create_task(self._read(), name="read-child-types")
            self._reading.add_done_callback(self._read_done)
        return self._reading

    def _read_done(self, _: asyncio.Task[None]) -> None:
        self._reading = None

    async def _read(self) -> None:
        try:
            announced = await announced_child_types(await self.client(), self.fanout_queue)
        except (TemporalUnavailable, RPCError, TimeoutError) as err:  # Temporal away: keep what was read last
            log.log(logging.WARNING if self.warn else logging.DEBUG,
                    "could not read which child types workers serve: %s", err)
            return
        self._types = LAB_CHILD_TYPES + tuple(OfferedChildType(a.name, a.description, plugin=a.plugin)
                                              for a in announced)
        self._read_at = time.monotonic()
