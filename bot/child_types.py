"""Which child types workers serve now, as the bot knows them: read from the announcements of the workers'
pollers (runtime.plugins) and kept for a while, so an ack never waits on Temporal."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from temporalio.client import Client

from bot.catalog import LAB_CHILD_TYPES, ChildType
from runtime.plugins import announced_child_types

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
    _types: tuple[ChildType, ...] = LAB_CHILD_TYPES
    _reading: asyncio.Task[None] | None = None

    def child_types(self) -> tuple[ChildType, ...]:
        if self._stale():
            self._read_in_background()
        return self._types

    async def fresh(self, budget_s: float = READ_BUDGET_S, max_age_s: float = REFRESH_S) -> tuple[ChildType, ...]:
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
        except Exception as err:  # Temporal unreachable, or refusing: keep what was read last
            log.log(logging.WARNING if self.warn else logging.DEBUG,
                    "could not read which child types workers serve: %s", err)
            return
        self._types = LAB_CHILD_TYPES + tuple(ChildType(a.name, a.description, plugin=a.plugin) for a in announced)
        self._read_at = time.monotonic()
