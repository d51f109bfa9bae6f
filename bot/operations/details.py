"""Details: what the lab shows in Temporal's Web UI, for teammates without it (issue 25) — a run's page (who started
it, where and with what text; its status, wall time, failure rule, retry policy and counts; its children or
batches a page at a time, with filters; its timeline), one child's story, one batch's failures.

The same for Slack's modal and the terminal: each takes who asks and where the view is (a ``Place``) and returns
what the view shows (bot.render.details), or the ``Answer`` that says why not. A run is found as ``status`` finds it
(``Runs.find``): from Slack only in the run's channel, and anywhere else the answer is the same as for an id that
does not exist. Everything is read from Temporal — the result, the progress query, visibility and histories — within
the cost bound of bot.details; the bot keeps no store of its own.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import TypeVar

from temporalio.service import RPCError

from bot.details.batch import batch_failures
from bot.details.page import is_gone, run_page
from bot.details.story import Teller
from bot.files.timeline import value_labels
from bot.mrkdwn import code
from bot.operations.answers import Answer, no_answer, refused
from bot.operations.permissions import Caller
from bot.operations.runs import Runs
from bot.render.details import BatchFailures, Place, RunPage, Story
from bot.runs.events import is_not_found
from bot.runs.lookup import FoundRun
from bot.runs.results import run_request
from workflows.model import FanoutRequest
from workflows.values import count_values, run_batch_size

log = logging.getLogger("fanout.bot")

# What a view waits for Temporal at most, once found: a page is a few reads of milliseconds each (a story one read
# per attempt); the modal shows "Reading…" meanwhile, and Slack's 3 s is behind it (views.update has no deadline).
READ_BUDGET_S = 5.0
T = TypeVar("T")


class Details:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def at(self, caller: Caller, place: Place) -> RunPage | Story | BatchFailures | Answer:
        """What the view at ``place`` shows: a batch's failures, a child's story, or the run's page."""
        if place.batch >= 0:
            return await self.batch(caller, place)
        if place.child >= 0:
            return await self.child(caller, place)
        return await self.run(caller, place)

    async def run(self, caller: Caller, place: Place) -> RunPage | Answer:
        """The run's page at ``place``: its header, a page of its children or batches, its timeline."""
        found = await self._found(caller, place.run_id)
        if isinstance(found, Answer):
            return found
        return await self._read(place, "details", run_page(found, place, datetime.now(UTC)))

    async def child(self, caller: Caller, place: Place) -> Story | Answer:
        """The story of the child at ``place.child`` (its position), from its history."""
        found = await self._found(caller, place.run_id)
        if isinstance(found, Answer):
            return found
        if found.started_at is None:
            return refused(f"Run {code(place.run_id)} has not started: it has no children yet.")
        return await self._read(place, "a child's story", self._story(found, place, found.started_at))

    async def _story(self, found: FoundRun, place: Place, parent_start: datetime) -> Story | Answer:
        request = await run_request(found.client, found.run_id)
        if (problem := _not_a_child(request, place.child)) is not None:
            return refused(problem)
        label = value_labels({place.child}, request.ranges, 1).get(place.child, f"#{place.child}")
        return await Teller(found.client, found.run_id, place.child, label, parent_start, datetime.now(UTC)).story()

    async def batch(self, caller: Caller, place: Place) -> BatchFailures | Answer:
        """The failures of the batch at ``place.batch``, the page at ``place.page``."""
        found = await self._found(caller, place.run_id)
        if isinstance(found, Answer):
            return found
        if found.started_at is None:
            return refused(f"Run {code(place.run_id)} has not started: it has no batches yet.")
        return await self._read(place, "a batch's failures", self._batch(found, place))

    async def _batch(self, found: FoundRun, place: Place) -> BatchFailures | Answer:
        request = await run_request(found.client, found.run_id)
        size = run_batch_size(count_values(request.ranges), request.batch_size)  # as ParentWorkflow planned it
        if size <= 1:
            return refused(f"Run {code(found.run_id)} has one child workflow per value, not batches.")
        return await batch_failures(found.client, found.run_id, place.batch, request, size, place.page)

    # -- shared ---------------------------------------------------------------------------------------------

    async def _found(self, caller: Caller, run_id: str) -> FoundRun | Answer:
        found = await self.runs.find(caller, run_id)
        if isinstance(found, FoundRun) and is_gone(found):
            return _gone(run_id)
        return found

    async def _read(self, place: Place, what: str, reading: Awaitable[T]) -> T | Answer:
        """What ``reading`` reads, within READ_BUDGET_S. A history that retention removed meanwhile is said to be
        gone; Temporal away or slow is said as every operation says it."""
        try:
            async with asyncio.timeout(READ_BUDGET_S):
                return await reading
        except RPCError as err:
            if is_not_found(err):
                return _gone(place.run_id)
            log.warning("%s of %s: %s", what, place.run_id, err)
            return no_answer(self.runs.gateway.address)
        except TimeoutError:
            log.warning("%s of %s: no answer within %.0f s", what, place.run_id, READ_BUDGET_S)
            return no_answer(self.runs.gateway.address)


def _gone(run_id: str) -> Answer:
    return refused(f"The history of run {code(run_id)} is gone: Temporal removes a closed workflow's history once the "
                   "namespace's retention period has passed, and this run's has.")


def _not_a_child(request: FanoutRequest, position: int) -> str | None:
    total = count_values(request.ranges)
    if run_batch_size(total, request.batch_size) > 1:
        return "This run's children are batches: a batch's values have no history of their own."
    if not 0 <= position < total:
        return f"The run has no child at position {position}."
    return None

