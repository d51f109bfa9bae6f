"""Recovery: every bot replica finds the runs it should report in Temporal, not in its memory.

On start and every FANOUT_RECOVERY_INTERVAL seconds, each replica lists the ParentWorkflow runs on
its task queue that are running or closed within RECOVERY_WINDOW, and follows those that have a
Slack message (memo ``slack_message_ts``) and are not reported yet. Following ends in the claim
(bot/claims.py), so a run is reported once however many replicas follow it, and a run that
finished while every bot was down is reported by the first one back.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from bot.claims import acquire, claimed_ts, is_reported
from bot.config import Settings
from bot.lifecycle import RunReporter
from bot.runs import RunInfo, from_memo
from bot.start import ui_url
from bot.temporal import TemporalGateway, TemporalUnavailable
from workflows.model import FanoutResult
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.recovery")
RECOVERY_WINDOW = timedelta(hours=24)


class Recovery:
    def __init__(self, settings: Settings, gateway: TemporalGateway, reporter: RunReporter) -> None:
        self.settings = settings
        self.gateway = gateway
        self.reporter = reporter
        self._reported: set[str] = set()  # closed runs seen reported: no need to ask again

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                adopted = await self.scan()
                if adopted:
                    log.info("recovery: following %d run(s) started elsewhere or before a restart", adopted)
            except TemporalUnavailable as err:
                log.debug("recovery: %s", err)
            except Exception:
                log.exception("recovery scan failed")
            try:
                await asyncio.wait_for(stop.wait(), self.settings.recovery_interval_s)
            except TimeoutError:
                pass

    async def scan(self) -> int:
        client = await self.gateway.client()
        since = (datetime.now(UTC) - RECOVERY_WINDOW).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = (f"WorkflowType = 'ParentWorkflow' AND ParentWorkflowId IS NULL "
                 f"AND TaskQueue = '{self.settings.task_queue}' "
                 f"AND (ExecutionStatus = 'Running' OR CloseTime > '{since}')")
        adopted = 0
        async for wf in client.list_workflows(query):
            if wf.id in self._reported or self.reporter.is_following(wf.id):
                continue
            run = from_memo(wf.id, await wf.memo(), ui_url(self.settings.temporal_ui_url, client.namespace, wf.id))
            if run is None:
                continue
            if wf.status != WorkflowExecutionStatus.RUNNING and await is_reported(client, wf.id):
                self._reported.add(wf.id)
                continue
            handle = client.get_workflow_handle_for(ParentWorkflow.run, wf.id)
            if not run.message_ts:
                # The bot that started it has not recorded its message: give it time, then take over.
                if datetime.now(UTC) - wf.start_time < self.grace:
                    continue
                found = await self._announce(client, run, handle, wf.start_time)
                if found is None:
                    continue
                run = found
            self.reporter.follow(run, handle, adopted=True)
            adopted += 1
        return adopted

    @property
    def grace(self) -> timedelta:
        return timedelta(seconds=max(3 * self.settings.recovery_interval_s, 5.0))

    async def _announce(self, client: Client, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult],
                        started: datetime) -> RunInfo | None:
        """The run's message: found in Slack (its bot died before recording it) or posted now (it died
        before posting). One replica does this, under the run's "announce" claim."""
        claim = await acquire(client, run.workflow_id, self.settings.task_queue, purpose="announce",
                              lease_s=self.settings.claim_lease_s)
        if claim is None:  # held by the bot posting it now, or done: then its ts is on the claim
            ts = await claimed_ts(client, run.workflow_id, "announce")
            if ts == "":  # it could not be posted (the bot is not in the channel): nothing to follow
                self._reported.add(run.workflow_id)
            if not ts:  # still being posted
                return None
            return replace(run, message_ts=ts, thread_ts=run.thread_ts or ts)
        async with claim.held():
            ts = await self.reporter.find_run_message(run, oldest=started.timestamp() - 5)
            if ts:
                run = replace(run, message_ts=ts, thread_ts=run.thread_ts or ts)
            else:
                log.info("run %s never got its message: posting it now", run.workflow_id)
                run = await self.reporter.announce(run)
        await self.reporter.remember_message(run, handle)
        await claim.posted(run.message_ts)
        return run
