"""The per-user cap (FANOUT_MAX_RUNS_PER_USER): one small workflow per Slack user holds their runs.

Visibility lags, so counting running workflows would let two quick commands both slip past the
cap. Instead the bot asks this workflow first, with update-with-start: its update handlers run one at
a time, so of two commands racing for the last slot exactly one gets it. The validator refuses most
updates over the cap (a rejection is not written to history), the handler the rest, and both say
which runs hold the slots. A run holds its slot from the command until its reporter lets go — after the summary and the
files, so a run still reporting counts — and a slot the bot took for a run whose reporter never
started (the bot died in between) is freed after CONFIRM_WITHIN_S.

The workflow ends after IDLE_S without runs and continues as new when its history grows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from temporalio import workflow
from temporalio.exceptions import ApplicationError

CONFIRM_WITHIN_S = 60.0
IDLE_S = 3600.0


@dataclass
class Acquire:
    run_id: str
    cap: int


@dataclass
class Held:
    """Run id -> the workflow time by which its reporter must confirm it (0: confirmed)."""

    runs: dict[str, float] = field(default_factory=dict)


def quota_id(workflow_queue: str, user_id: str) -> str:
    return f"{workflow_queue}.runs-of.{user_id}"


@workflow.defn
class UserRunsWorkflow:
    @workflow.init
    def __init__(self, held: Held) -> None:
        # Set here, not in run(): the update that starts the workflow is handled before run() begins.
        self._held: dict[str, float] = dict(held.runs)
        self._changed = False

    @workflow.run
    async def run(self, held: Held) -> None:
        while True:
            self._changed = False
            deadlines = [d for d in self._held.values() if d > 0]
            timeout = max(min(deadlines) - workflow.time(), 0.001) if deadlines else None if self._held else IDLE_S
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=timeout)
            except TimeoutError:
                pass
            now = workflow.time()
            for run_id, deadline in list(self._held.items()):
                if 0 < deadline <= now:
                    workflow.logger.warning("Run %s never confirmed its slot: freed", run_id)
                    del self._held[run_id]
            idle = not self._held and not self._changed
            if idle or workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                if idle and not self._held:
                    return
                if not idle:
                    workflow.continue_as_new(Held(self._held))

    @workflow.update
    def acquire(self, request: Acquire) -> list[str]:
        """Take a slot for ``request.run_id``; returns the user's runs (it included). Taking it again is a no-op."""
        # Checked again here: updates that arrive together are all validated before any handler runs.
        # Handlers run one at a time and this one never awaits, so the check and the take are atomic.
        self._has_room(request)
        if request.run_id not in self._held:
            self._held[request.run_id] = workflow.time() + CONFIRM_WITHIN_S
            self._changed = True
        return list(self._held)

    @acquire.validator
    def _has_room(self, request: Acquire) -> None:
        """Most refusals end here, unwritten to history."""
        if request.run_id not in self._held and len(self._held) >= request.cap:
            raise ApplicationError(f"{len(self._held)} runs going", list(self._held), type="RunCap")

    @workflow.signal
    def confirm(self, run_id: str) -> None:
        """The run's reporter started: the slot is held until ``release``."""
        self._held[run_id] = 0.0
        self._changed = True

    @workflow.signal
    def release(self, run_id: str) -> None:
        self._held.pop(run_id, None)
        self._changed = True

    @workflow.query
    def runs(self) -> list[str]:
        return list(self._held)
