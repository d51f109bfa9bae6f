"""Runs that wait for people: ``--approve``. A mixin of ReporterWorkflow (bot.reporting.reporter).

The reporter posts the run as waiting, with Approve and Reject buttons, and waits durably — through bot
restarts, and while worker.py is down, since the bot's own workers run the reporter — for a decision,
which comes as a Workflow Update (``decide``): the clicker hears at once whether it was accepted. The
rule of who may decide lives in the update's validator, with the run: someone other than its starter, and
one of FANOUT_APPROVERS when that setting names anyone. A rejected update is not written to history.
Nobody deciding within the timeout ends the run as "expired" (and its starter cancelling it first, as
"withdrawn"); who approved or rejected, and when, goes in
the memo and the summary.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from bot.reporting.payloads import Approval, Decision
    from bot.runs.info import RunInfo
    from runtime.search_attributes import STATUS
    from workflows.model import FanoutResult


class AwaitsApproval:
    if TYPE_CHECKING:  # set by ReporterWorkflow.__init__
        _waiting: bool
        _decision: Decision | None
        _cancelled_by: str
        _starter: str
        _approvers: list[str]

        async def _announce(self, run: RunInfo, *, waiting_until: str = "",
                            approvers: list[str] | None = None) -> RunInfo: ...

        def _stand_in(self, run: RunInfo, status: str) -> FanoutResult: ...

    async def _ask_approval(self, approval: Approval, run: RunInfo) -> tuple[RunInfo, FanoutResult | None]:
        """Post the run as waiting, and wait durably for a decision (``decide``) or the timeout. Returns the
        run (approved: with who and when) and None to go on, or the result of a run that never ran."""
        until = workflow.now() + timedelta(seconds=approval.timeout_s)
        self._waiting = True
        workflow.upsert_search_attributes([STATUS.value_set("waiting")])
        run = await self._announce(run, waiting_until=until.isoformat(), approvers=approval.approvers)
        try:
            await workflow.wait_condition(lambda: self._decision is not None or bool(self._cancelled_by),
                                          timeout=approval.timeout_s)
        except TimeoutError:  # asyncio's: nobody decided in time
            pass
        self._waiting = False
        decision = self._decision
        if decision is None or not decision.approve:
            status = "withdrawn" if self._cancelled_by else "expired" if decision is None else "rejected"
            result = self._stand_in(run, status)
            result.cancelled_by = self._cancelled_by or (decision.user_id if decision else "")
            return run, result
        workflow.upsert_search_attributes([STATUS.value_set("running")])
        return replace(run, approved_by=decision.user_id, approved_at=workflow.now().isoformat()), None

    @workflow.update
    def decide(self, decision: Decision) -> str:
        """Approve or reject a run waiting for it. The validator holds the rule: someone other than the
        starter, and one of the approvers when the setting names them (FANOUT_APPROVERS)."""
        self._may_decide(decision)  # again: decisions that arrive together are all validated first
        self._decision = decision
        key = "approved_by" if decision.approve else "rejected_by"
        workflow.upsert_memo({key: decision.user_id, "decided_at": workflow.now().isoformat()})
        return "approved" if decision.approve else "rejected"

    @decide.validator
    def _may_decide(self, decision: Decision) -> None:
        if not self._waiting or self._decision is not None or self._cancelled_by:
            raise ApplicationError("the run is not waiting for a decision", type="NotWaiting")
        if decision.user_id == self._starter:
            raise ApplicationError("the starter of a run cannot approve it", type="OwnRun")
        if self._approvers and decision.user_id not in self._approvers:
            raise ApplicationError(",".join(self._approvers), type="NotAnApprover")

