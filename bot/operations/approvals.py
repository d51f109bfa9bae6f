"""Approve and Reject, on a run that waits for someone else's approval (``--approve``): a Workflow Update on the
run's reporter, whose validator holds the rule of who may decide (bot.reporting.reporter), so the clicker hears at
once whether it counted. The bot checks the channel first, as for any run."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from bot.mrkdwn import code, escape, mention
from bot.operations.answers import Answer, no_answer, refused, said
from bot.operations.permissions import Caller
from bot.operations.runs import Runs
from bot.reporting.payloads import Decision

log = logging.getLogger("fanout.bot")
# A decision is answered through the click's response_url (valid for 30 min), after the ack: it may wait for
# a replica to take over from one that just stopped rather than give up at 2.5 s. That is the sticky queue's
# timeout after a crash (bot.workers.STICKY_TIMEOUT); and, rarely (seen once in CI after a clean stop), a whole
# workflow task timeout (10 s): likely a task handed to the stopping replica's last poll, which no one completes.
DECIDE_BUDGET_S = 15.0


class Approvals:
    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def decide(self, caller: Caller, run_id: str, *, approve: bool) -> Answer:
        found = await self.runs.find(caller, run_id)
        if isinstance(found, Answer):
            return found
        not_waiting = refused(f"Run {code(run_id)} is not waiting for a decision (it was approved, rejected or "
                              f"withdrawn, or it expired). `/fanout status {escape(run_id)}` shows how it stands.")
        if not found.waiting or found.reporter is None:
            return not_waiting
        try:
            async with asyncio.timeout(DECIDE_BUDGET_S):
                await found.reporter.execute_update("decide", Decision(caller.user_id, approve), result_type=str,
                                                    rpc_timeout=timedelta(seconds=DECIDE_BUDGET_S))
        except WorkflowUpdateFailedError as err:  # the reporter's validator refused: say why
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else ""
            if kind == "OwnRun":
                return refused(f"You started run {code(run_id)}: someone else in this channel must approve it.")
            if kind == "NotAnApprover" and isinstance(cause, ApplicationError):
                allowed = ", ".join(mention(a) for a in cause.message.split(",") if a)
                return refused(f"Only {allowed} may approve or reject run {code(run_id)} (FANOUT_APPROVERS).")
            return not_waiting
        except (TimeoutError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
            log.warning("decision on %s: %s", run_id, err)
            return no_answer(self.runs.gateway.address, f"your decision on run {code(run_id)} may or may not be "
                             "recorded: its message shows it once it is. If it still offers Approve and Reject in a "
                             "minute, click again.")
        log.info("run %s %s by %s", run_id, "approved" if approve else "rejected", caller.user_id)
        what = "Approved: it starts now" if approve else "Rejected: it will not run"
        return said(f"{what} — run {code(run_id)}; its thread will say how it went.")
