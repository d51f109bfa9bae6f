"""What each /fanout command does once parsed and acked: run, status, cancel, list, retry.

Answers to the user alone go through ``respond`` (the command's response_url), as ephemeral
messages; the run's public messages go through the RunReporter.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import nullcontext
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_bolt.async_app import AsyncRespond
from slack_sdk.errors import SlackApiError
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.service import RPCError, RPCStatusCode

from bot.blocks import code, escape
from bot.claims import Claim, acquire
from bot.commands import command_text
from bot.config import Settings
from bot.lifecycle import RunReporter
from bot.parse import RunCommand, usage_text
from bot.render import RunListing, error_message, list_message, status_message
from bot.results import failed_values, run_request
from bot.start import Origin, run_id_for, start_run, ui_url
from bot.temporal import TemporalGateway, TemporalUnavailable
from workflows.model import FanoutRequest, FanoutResult
from workflows.parent import ParentWorkflow
from workflows.values import compress

log = logging.getLogger("fanout.bot")

STATUS_NAMES = {
    WorkflowExecutionStatus.RUNNING: "Running",
    WorkflowExecutionStatus.COMPLETED: "Completed",
    WorkflowExecutionStatus.FAILED: "Failed",
    WorkflowExecutionStatus.CANCELED: "Cancelled",
    WorkflowExecutionStatus.TERMINATED: "Terminated",
    WorkflowExecutionStatus.TIMED_OUT: "Timed out",
    WorkflowExecutionStatus.CONTINUED_AS_NEW: "Continued as new",
}
LIST_LIMIT = 10  # runs shown by `/fanout list`
MAX_RETRY_RANGES = 5000  # ~150 KB of request payload, well under Temporal's 512 KiB warning
LIST_SCAN = 500  # newest runs looked at to find them
LIST_BUDGET_S = 2.0  # so the answer comes well within Slack's 3 s even from a slow visibility store
RPC_TIMEOUT = timedelta(seconds=2)


def unescape_slack(text: str) -> str:
    """Slack sends &, < and > in command text as entities; the memo keeps what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Operations:
    def __init__(self, settings: Settings, gateway: TemporalGateway, reporter: RunReporter) -> None:
        self.settings = settings
        self.gateway = gateway
        self.reporter = reporter

    async def _client(self, respond: AsyncRespond) -> Client | None:
        try:
            return await self.gateway.client()
        except TemporalUnavailable as err:
            log.warning("%s", err)
            await self._tell(respond, f"Temporal is unreachable right now ({self.gateway.address}); nothing "
                             "was started. Try again in a moment.")
            return None

    async def _tell(self, respond: AsyncRespond, problem: str, usage: str = "") -> None:
        await respond(**error_message(problem, usage).as_ephemeral())

    async def run(self, command: RunCommand, payload: dict[str, Any], respond: AsyncRespond) -> None:
        origin = Origin(
            user_id=payload.get("user_id", ""),
            channel_id=payload.get("channel_id", ""),
            text=unescape_slack(payload.get("text", "")).strip(),  # as typed; escaped again wherever shown
            trigger_id=payload.get("trigger_id", ""),
            team_id=payload.get("team_id", ""),
        )
        await self._start(command.request, origin, respond)

    async def _start(self, request: FanoutRequest, origin: Origin, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        try:
            started = await start_run(client, request, origin, task_queue=self.settings.task_queue,
                                      ui_base=self.settings.temporal_ui_url)
        except RPCError as err:
            log.warning("start failed: %s", err)
            await self._tell(respond, f"Temporal did not accept the run ({err.status.name}: {escape(err.message)}); "
                             "nothing was started.")
            return
        if started is None:
            if origin.retry_of:
                await self._tell(respond, f"The failures of {code(origin.retry_of)} were already retried, as "
                                 f"{code(run_id_for(origin))}; its summary is in this thread.")
            log.info("duplicate start of %s ignored", origin.retry_of or origin.trigger_id)
            return
        run, handle = started
        log.info("run %s started by %s in %s: %d values", run.workflow_id, run.user_id, run.channel_id,
                 run.value_count)
        # Held while posting, so a replica's recovery never posts a second run message however slow
        # Slack is; it lapses (and recovery takes over) only if this bot dies first.
        claim = await self._announce_claim(client, run.workflow_id)
        try:
            async with claim.held() if claim else nullcontext():
                run = await self.reporter.announce(run)
        except SlackApiError as err:  # e.g. not_in_channel: the run goes on; say where to follow it
            log.warning("run %s: cannot post in %s: %s", run.workflow_id, run.channel_id, err.response.get("error"))
            await self._release(claim, "")  # nowhere to post: recovery need not try again
            await self._tell(respond, f"Run {code(run.workflow_id)} started, but I cannot post in this channel "
                             f"({code(str(err.response.get('error', 'error')))}); invite me (`/invite @fanout`) and "
                             f"follow it with `/fanout status {escape(run.workflow_id)}`.")
            return
        await self.reporter.remember_message(run, handle)
        await self._release(claim, run.message_ts)
        self.reporter.follow(run, handle)

    async def _announce_claim(self, client: Client, run_id: str) -> Claim | None:
        try:
            return await acquire(client, run_id, self.settings.task_queue, purpose="announce",
                                 lease_s=self.settings.claim_lease_s)
        except RPCError as err:  # post anyway: a duplicate message after a crash beats no message
            log.warning("run %s: no announce claim (%s)", run_id, err.message)
            return None

    @staticmethod
    async def _release(claim: Claim | None, message_ts: str) -> None:
        if claim is None:
            return
        try:
            await claim.posted(message_ts)
        except RPCError as err:  # the claim lapses; recovery then finds the message by its metadata
            log.warning("could not complete the announce claim: %s", err.message)

    async def status(self, run_id: str, respond: AsyncRespond) -> None:
        found = await self._find_run(run_id, respond)
        if found is None:
            return
        client, handle, desc = found
        status = STATUS_NAMES.get(desc.status, str(desc.status)) if desc.status else "Unknown"
        progress, result = None, None
        try:
            if desc.status == WorkflowExecutionStatus.RUNNING:
                progress = await handle.query(ParentWorkflow.progress, rpc_timeout=RPC_TIMEOUT)
                if desc.start_time:  # the query's clock stops between workflow tasks; the run's does not
                    since = (datetime.now(UTC) - desc.start_time).total_seconds()
                    progress = replace(progress, elapsed_s=max(progress.elapsed_s, since))
            elif desc.status == WorkflowExecutionStatus.COMPLETED:
                result = await handle.result(rpc_timeout=RPC_TIMEOUT)
                if result.status == "cancelled":
                    status = "Cancelled"
        except Exception as err:  # e.g. no worker answering the query: the status alone still helps
            log.warning("status of %s: %s", run_id, err)
            status += " (progress unavailable: no worker answered)" if progress is None and result is None else ""
        link = ui_url(self.settings.temporal_ui_url, client.namespace, run_id)
        await respond(**status_message(run_id, status, progress, result, link).as_ephemeral())

    async def _find_run(self, run_id: str, respond: AsyncRespond) -> tuple[
            Client, WorkflowHandle[ParentWorkflow, FanoutResult], WorkflowExecutionDescription] | None:
        """The run's client, handle and description; None (the user told why) if Temporal is
        unreachable or there is no such run."""
        client = await self._client(respond)
        if client is None:
            return None
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        try:
            return client, handle, await handle.describe(rpc_timeout=RPC_TIMEOUT)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                await self._tell(respond, f"No run {code(run_id)} found. Run ids are in each run's message and "
                                 "in `/fanout list`.", usage_text())
                return None
            raise

    async def cancel(self, run_id: str, user_id: str, respond: AsyncRespond) -> None:
        found = await self._find_run(run_id, respond)
        if found is None:
            return
        _, handle, desc = found
        not_running = (f"Run {code(run_id)} is not running; nothing to cancel. "
                       f"`/fanout status {escape(run_id)}` shows how it ended.")
        if desc.status != WorkflowExecutionStatus.RUNNING:
            await self._tell(respond, not_running)
            return
        try:
            await handle.signal(ParentWorkflow.request_cancel, user_id, rpc_timeout=RPC_TIMEOUT)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:  # it finished between the describe and the signal
                await self._tell(respond, not_running)
                return
            raise
        log.info("run %s: cancel requested by %s", run_id, user_id)
        await respond(text=f"Cancelling {code(run_id)}: running children are being cancelled; the summary with the "
                      "results so far follows in the run's thread.", response_type="ephemeral", replace_original=False)

    async def list_runs(self, channel_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        # The channel lives in the memo (no custom search attribute to register on the cluster), so the
        # newest runs of this bot's task queue are filtered here — within a time budget, so Slack hears
        # back promptly even from a slow visibility store.
        listings: list[RunListing] = []
        query = "WorkflowType = 'ParentWorkflow' AND ParentWorkflowId IS NULL"
        if "'" not in self.settings.task_queue:
            query += f" AND TaskQueue = '{self.settings.task_queue}'"
        try:
            async with asyncio.timeout(LIST_BUDGET_S):
                async for wf in client.list_workflows(query, limit=LIST_SCAN, rpc_timeout=RPC_TIMEOUT):
                    memo = await wf.memo()
                    if memo.get("slack_channel") != channel_id:
                        continue
                    status = STATUS_NAMES.get(wf.status, "Unknown") if wf.status else "Unknown"
                    if wf.status == WorkflowExecutionStatus.COMPLETED and memo.get("cancelled_by"):
                        status = "Cancelled"
                    listings.append(RunListing(
                        workflow_id=wf.id,
                        status=status,
                        started_by=str(memo.get("slack_user", "")),
                        text=str(memo.get("command_text", "")),
                        start_time_iso=wf.start_time.isoformat(timespec="seconds"),
                        ui_url=ui_url(self.settings.temporal_ui_url, client.namespace, wf.id),
                    ))
                    if len(listings) >= LIST_LIMIT:
                        break
        except TimeoutError:
            log.warning("list for %s: visibility was slow; answering with %d runs", channel_id, len(listings))
        await respond(**list_message(channel_id, listings).as_ephemeral())

    async def retry_failed(self, run_id: str, *, user_id: str, channel_id: str, thread_ts: str, trigger_id: str,
                           team_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        try:
            desc = await handle.describe(rpc_timeout=RPC_TIMEOUT)
            if desc.status != WorkflowExecutionStatus.COMPLETED:
                status = STATUS_NAMES.get(desc.status, "Unknown") if desc.status else "Unknown"
                await self._tell(respond, f"Run {code(run_id)} is {status.lower()}, so it has no failures to "
                                 "retry (only a finished run's failures can be retried).")
                return
            result: FanoutResult = await handle.result(rpc_timeout=RPC_TIMEOUT)
            values = await failed_values(client, run_id, result)
            original = await run_request(handle)
        except (RPCError, WorkflowFailureError) as err:
            await self._tell(respond, f"Cannot read the results of {code(run_id)}: {escape(str(err))}")
            return
        if not values:
            await self._tell(respond, f"Run {code(run_id)} has no failed values to retry.")
            return
        ranges = compress(values)
        if len(ranges) > MAX_RETRY_RANGES:
            # Scattered failures of a huge run do not compress: as one request they would pass Temporal's
            # payload limit. Say so instead of failing at the server.
            await self._tell(respond, f"Run {code(run_id)} has {len(values):,} failed values scattered over "
                             f"{len(ranges):,} ranges; a retry can take at most {MAX_RETRY_RANGES:,} ranges. The CSV "
                             "in the run's thread lists every failed value.")
            return
        request = FanoutRequest(
            ranges=ranges, fail=original.fail, max_attempts=original.max_attempts,
            delay_min_s=original.delay_min_s, delay_max_s=original.delay_max_s, sequential=original.sequential,
            batch_size=0, child_type=original.child_type,
        )
        origin = Origin(user_id=user_id, channel_id=channel_id, text=command_text(request),
                        trigger_id=trigger_id, team_id=team_id, thread_ts=thread_ts, retry_of=run_id)
        await self._start(request, origin, respond)
