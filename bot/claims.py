"""Exactly one summary per run, across restarts and replicas: the claim lives in Temporal.

"Already reported" is the completed ReportWorkflow ``<run id>-report`` (see workflows/report.py).
Temporal starts one workflow per id, which is the deduplication point; a claim whose holder died
before posting fails when its lease runs out and may then be claimed again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.report import ReportWorkflow

log = logging.getLogger("fanout.claims")
LEASE_S = 60.0  # how long a claimant may go quiet (no renewal) before another bot may take over
RPC_TIMEOUT = timedelta(seconds=5)


def claim_id(run_id: str, purpose: str = "report") -> str:
    return f"{run_id}-{purpose}"


@dataclass
class Claim:
    handle: WorkflowHandle[ReportWorkflow, str]
    reclaimed: bool  # an earlier claimant's lease ran out: it may have posted before dying
    lease_s: float = LEASE_S

    async def posted(self, summary_ts: str) -> None:
        await self.handle.signal(ReportWorkflow.posted, summary_ts, rpc_timeout=RPC_TIMEOUT)

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Renew the lease while the body runs (however long Slack makes it wait), so that only a
        bot that died loses its claim."""
        renewing = asyncio.create_task(self._renew())
        try:
            yield
        finally:
            renewing.cancel()

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                await self.handle.signal(ReportWorkflow.renew, rpc_timeout=RPC_TIMEOUT)
            except RPCError as err:  # the next renewal may get through; if none does, the lease lapses
                log.warning("renewing %s: %s", self.handle.id, err.message)


async def is_reported(client: Client, run_id: str) -> bool:
    try:
        desc = await client.get_workflow_handle(claim_id(run_id)).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return desc.status == WorkflowExecutionStatus.COMPLETED


async def claimed_ts(client: Client, run_id: str, purpose: str) -> str | None:
    """What a completed claim recorded (the message's ts; "" when it could not be posted), or None
    while the claim is held, was never made, or lapsed."""
    handle = client.get_workflow_handle_for(ReportWorkflow.run, claim_id(run_id, purpose))
    try:
        desc = await handle.describe(rpc_timeout=RPC_TIMEOUT)
        if desc.status != WorkflowExecutionStatus.COMPLETED:
            return None
        return await handle.result(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise


async def acquire(client: Client, run_id: str, task_queue: str, purpose: str = "report",
                  lease_s: float = LEASE_S) -> Claim | None:
    """The claim to post ``run_id``'s summary (purpose "report") or, when the bot that started it died
    before recording its message, its run message ("announce"); None when another bot holds it or it
    is done already."""
    reclaimed = False
    workflow_id = claim_id(run_id, purpose)
    try:
        desc = await client.get_workflow_handle(workflow_id).describe(rpc_timeout=RPC_TIMEOUT)
        if desc.status in (WorkflowExecutionStatus.COMPLETED, WorkflowExecutionStatus.RUNNING):
            return None
        reclaimed = True
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    try:
        handle = await client.start_workflow(
            ReportWorkflow.run,
            lease_s,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            # Without a worker the lease still ends (server side), so a claim never blocks forever;
            # a claimant still renewing after ten leases has hung.
            execution_timeout=timedelta(seconds=lease_s * 10),
            rpc_timeout=RPC_TIMEOUT,
        )
    except WorkflowAlreadyStartedError:
        return None
    if reclaimed:
        log.info("run %s: took over the %s after an expired claim", run_id, purpose)
    return Claim(handle, reclaimed, lease_s)
