"""What each /fanout command does once parsed and acked: run, status, cancel, list, retry.

Answers to the user alone go through ``respond`` (the command's response_url), as ephemeral
messages; the run's public messages go through the RunReporter.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncRespond
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from bot.config import Settings
from bot.lifecycle import RunReporter
from bot.parse import RunCommand, usage_text
from bot.render import RunListing, error_message, list_message, status_message
from bot.results import failed_values, run_request
from bot.start import Origin, start_run, ui_url
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
LIST_LIMIT = 10


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
            text=payload.get("text", ""),
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
            await self._tell(respond, f"Temporal did not accept the run ({err.status.name}: {err.message}); "
                             "nothing was started.")
            return
        if started is None:
            if origin.retry_of:
                await self._tell(respond, f"The failures of `{origin.retry_of}` were already retried as "
                                 f"`{origin.retry_of}-r`.")
            log.info("duplicate start of %s ignored", origin.retry_of or origin.trigger_id)
            return
        run, handle = started
        log.info("run %s started by %s in %s: %d values", run.workflow_id, run.user_id, run.channel_id,
                 run.value_count)
        run = await self.reporter.announce(run)
        await self.reporter.remember_message(run, handle)
        self.reporter.follow(run, handle)

    async def status(self, run_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        try:
            desc = await handle.describe()
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                await self._tell(respond, f"No run `{run_id}` found.", usage_text())
                return
            raise
        status = STATUS_NAMES.get(desc.status, str(desc.status)) if desc.status else "Unknown"
        progress, result = None, None
        if desc.status == WorkflowExecutionStatus.RUNNING:
            progress = await handle.query(ParentWorkflow.progress)
        elif desc.status == WorkflowExecutionStatus.COMPLETED:
            result = await handle.result()
            if result.status == "cancelled":
                status = "Cancelled"
        link = ui_url(self.settings.temporal_ui_url, client.namespace, run_id)
        await respond(**status_message(run_id, status, progress, result, link).as_ephemeral())

    async def cancel(self, run_id: str, user_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        try:
            desc = await handle.describe()
            if desc.status != WorkflowExecutionStatus.RUNNING:
                await self._tell(respond, f"Run `{run_id}` is not running; nothing to cancel.")
                return
            await handle.signal(ParentWorkflow.request_cancel, user_id)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                await self._tell(respond, f"No run `{run_id}` found.", usage_text())
                return
            raise
        log.info("run %s: cancel requested by %s", run_id, user_id)
        await respond(text=f"Cancelling `{run_id}`…", response_type="ephemeral", replace_original=False)

    async def list_runs(self, channel_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        # The channel lives in the memo (no custom search attribute to register on the cluster),
        # so filter the newest runs here.
        listings: list[RunListing] = []
        async for wf in client.list_workflows("WorkflowType = 'ParentWorkflow'", limit=500):
            memo = await wf.memo()
            if memo.get("slack_channel") != channel_id:
                continue
            listings.append(RunListing(
                workflow_id=wf.id,
                status=STATUS_NAMES.get(wf.status, "Unknown") if wf.status else "Unknown",
                started_by=str(memo.get("slack_user", "")),
                text=str(memo.get("command_text", "")),
                start_time_iso=wf.start_time.isoformat(timespec="seconds"),
                ui_url=ui_url(self.settings.temporal_ui_url, client.namespace, wf.id),
            ))
            if len(listings) >= LIST_LIMIT:
                break
        await respond(**list_message(channel_id, listings).as_ephemeral())

    async def retry_failed(self, run_id: str, *, user_id: str, channel_id: str, thread_ts: str, trigger_id: str,
                           team_id: str, respond: AsyncRespond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
        try:
            result: FanoutResult = await handle.result()
            values = await failed_values(client, run_id, result)
            original = await run_request(handle)
        except (RPCError, WorkflowFailureError) as err:
            await self._tell(respond, f"Cannot read the results of `{run_id}`: {err}")
            return
        if not values:
            await self._tell(respond, f"Run `{run_id}` has no failed values to retry.")
            return
        request = FanoutRequest(
            ranges=compress(values), fail=original.fail, max_attempts=original.max_attempts,
            delay_min_s=original.delay_min_s, delay_max_s=original.delay_max_s, sequential=original.sequential,
            batch_size=0, child_type=original.child_type,
        )
        origin = Origin(user_id=user_id, channel_id=channel_id, text=f"retry failed of {run_id}",
                        trigger_id=trigger_id, team_id=team_id, thread_ts=thread_ts, retry_of=run_id)
        await self._start(request, origin, respond)
