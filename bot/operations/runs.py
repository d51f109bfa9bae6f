"""What each /fanout command does once parsed and acked: run, status, cancel, list, retry.

Answers to the user alone go through ``respond`` (the request's response_url), as ephemeral
messages; everything public about a run is posted by its reporter (bot.reporting.reporter), never from here.
Each command finishes within COMMAND_BUDGET_S, so the answer comes within Slack's 3 s even when
Temporal is down (the command client's retries end within that budget, runtime.temporal).

A run belongs to its channel: status, cancel and retry act only on a run whose reporter is a
ReporterWorkflow carrying the caller's workspace and channel (bot.runs.lookup); anything else gets
the same answer as an id that does not exist, and the workflow is not touched.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from bot.home.tab import HomeUser, HomeWorkflow, home_id
from bot.language.grammar import RunCommand
from bot.language.help import command_text, usage_text
from bot.language.table import APPROVE_TIMEOUT_S
from bot.mrkdwn import code, escape, mention, mrkdwn_to_text
from bot.operations.start import RPC_TIMEOUT, Origin, OverCap, Where, may_have_started, run_id_for, start_reported
from bot.render.replies import error_message, list_message, status_message
from bot.reporting.payloads import Approval, CancelRun, Step
from bot.reporting.reporter import ReporterWorkflow
from bot.runs.lookup import STATUS_NAMES, FoundRun, find_run, list_channel_runs
from bot.runs.results import failed_values, run_request
from bot.settings import Settings
from runtime.temporal import TemporalGateway, TemporalUnavailable
from workflows.model import FanoutRequest, FanoutResult, Progress
from workflows.values import compress

log = logging.getLogger("fanout.bot")
# Where a private answer goes: Bolt's respond() (the request's response_url), or a Collected for a form.
Respond = Callable[..., Awaitable[Any]]

COMMAND_BUDGET_S = 2.5  # every answer well within Slack's 3 s
MAX_RETRY_RANGES = 5000  # ~150 KB of request payload, well under Temporal's 512 KiB warning


def unescape_slack(text: str) -> str:
    """Slack sends &, < and > in command text as entities; the memo keeps what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Operations:
    def __init__(self, settings: Settings, gateway: TemporalGateway, where: Where) -> None:
        self.settings = settings
        self.gateway = gateway
        self.where = where

    async def _client(self, respond: Respond) -> Client | None:
        try:
            return await self.gateway.client()
        except TemporalUnavailable as err:
            log.warning("%s", err)
            await self._tell(respond, f"Temporal is unreachable right now ({escape(self.gateway.address)}); nothing "
                             "was started. Try again in a moment.")
            return None

    async def _tell(self, respond: Respond, problem: str, usage: str = "") -> None:
        await respond(**error_message(problem, usage).as_ephemeral())

    # -- run --------------------------------------------------------------------------------------

    async def run(self, command: RunCommand, payload: dict[str, Any], respond: Respond) -> None:
        origin = Origin(
            user_id=payload.get("user_id", ""),
            channel_id=payload.get("channel_id", ""),
            text=unescape_slack(payload.get("text", "")).strip(),  # as typed; escaped again wherever shown
            trigger_id=payload.get("trigger_id", ""),
            team_id=payload.get("team_id", ""),
        )
        await self.start(command.request, origin, respond, approval=self.approval_for(command))

    def approval_for(self, command: RunCommand) -> Approval | None:
        """``--approve``, or a run over FANOUT_APPROVE_OVER values: it waits for someone else to approve it."""
        over = 0 < self.settings.approve_over < command.value_count
        if not command.approve_timeout_s and not over:
            return None
        return Approval(timeout_s=command.approve_timeout_s or APPROVE_TIMEOUT_S,
                        approvers=sorted(self.settings.approvers))

    async def start(self, request: FanoutRequest, origin: Origin, respond: Respond, *,
                    approval: Approval | None = None, step: Step | None = None) -> str | None:
        """Start a reported run; the run id, or None (the user was told why)."""
        client = await self._client(respond)
        if client is None:
            return None
        run_id = run_id_for(origin)
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                run = await start_reported(client, request, origin, self.where, approval=approval, step=step)
        except OverCap as over:
            await self._tell(respond, self._over_cap(over.runs))
            return None
        except (TimeoutError, RPCError) as err:
            if isinstance(err, RPCError) and not may_have_started(err):
                log.warning("start refused: %s", err)
                if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                    await self._tell(respond, f"Temporal is unreachable right now ({escape(self.gateway.address)});"
                                     " nothing was started. Try again in a moment.")
                else:
                    await self._tell(respond, f"Temporal did not accept the run ({err.status.name}: "
                                     f"{escape(err.message)}); nothing was started.")
                return None
            log.warning("start of %s may have landed: %s", run_id, err or "timed out")
            await self._tell(respond, f"Temporal did not answer in time ({escape(self.gateway.address)}), so I cannot "
                             f"tell whether run {code(run_id)} started. If it did, its message appears here once "
                             f"Temporal is back; `/fanout status {escape(run_id)}` tells you in a minute.")
            return None
        if run is None:
            if origin.retry_of:
                await self._tell(respond, f"The failures of {code(origin.retry_of)} were already retried, as "
                                 f"{code(run_id)}; its summary is in this thread.")
            log.info("duplicate start of %s ignored", run_id)
            return None
        log.info("run %s started by %s in %s: %d values", run.workflow_id, run.user_id, run.channel_id,
                 run.value_count)
        return run.workflow_id

    def _over_cap(self, runs: list[str]) -> str:
        cap = self.settings.max_runs_per_user
        listed = ", ".join(code(r) for r in runs[:10]) or "(none listed)"
        return (f"You have {len(runs)} run{'s' if len(runs) != 1 else ''} going, the most one person may have at "
                f"once ({cap}, FANOUT_MAX_RUNS_PER_USER): {listed}. Wait for one to finish, or cancel one with "
                "`/fanout cancel <run-id>`.")

    # -- status, cancel, list ---------------------------------------------------------------------

    async def _find(self, run_id: str, team_id: str, channel_id: str, respond: Respond) -> FoundRun | None:
        """The run if it is this channel's, else None (the user told, the same way whatever the reason)."""
        client = await self._client(respond)
        if client is None:
            return None
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                found = await find_run(client, run_id, team_id, channel_id, workflow_queue=self.where.workflow_queue,
                                       ui_base=self.where.ui_base)
        except (TimeoutError, RPCError) as err:
            log.warning("looking up %s: %s", run_id, err)
            await self._tell(respond, f"Temporal did not answer in time ({escape(self.gateway.address)}); try "
                             "again in a moment.")
            return None
        if found is None:
            await self._tell(respond, f"No run {code(run_id)} found in this channel. Run ids are in each run's "
                             "message and in `/fanout list`.", usage_text())
        return found

    async def status(self, run_id: str, team_id: str, channel_id: str, respond: Respond) -> None:
        found = await self._find(run_id, team_id, channel_id, respond)
        if found is None:
            return
        status = found.status_name
        progress: Progress | None = None
        result: FanoutResult | None = None
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                if found.run_running:
                    progress = await found.progress()
                    if found.started_at:  # the query's clock stops between workflow tasks; the run's does not
                        since = (datetime.now(UTC) - found.started_at).total_seconds()
                        progress = replace(progress, elapsed_s=max(progress.elapsed_s, since))
                elif found.has_result:
                    result = await found.result()
        except Exception as err:  # e.g. no worker answering the query: the status alone still helps
            log.warning("status of %s: %s", run_id, err)
            status += " (progress unavailable: no worker answered)"
        await respond(**status_message(run_id, status, progress, result, found.run.ui_url).as_ephemeral())

    def may_cancel(self, found: FoundRun, user_id: str) -> str | None:
        return self.may_act(found.run.user_id, user_id, f"cancel run {code(found.run.workflow_id)}")

    def may_act(self, owner: str, user_id: str, what: str) -> str | None:
        """Why ``user_id`` may not do ``what`` to something ``owner`` started, or None. FANOUT_CANCEL_POLICY:
        ``starter`` (the owner and FANOUT_ADMIN_USERS) or ``channel`` (anyone the allow-lists admit)."""
        if self.settings.cancel_policy == "channel" or (owner and user_id == owner):
            return None
        if user_id in self.settings.admin_users:
            return None
        admins = ", ".join(mention(a) for a in sorted(self.settings.admin_users)[:5])
        who = [f"{mention(owner)} (who started it)"] if owner else []
        if admins or not who:  # nobody started it (a Workflow Builder step): only admins may
            who.append(f"an admin ({admins})" if admins else "an admin (FANOUT_ADMIN_USERS)")
        return f"Only {' or '.join(who)} can {what}."

    async def cancel(self, run_id: str, user_id: str, team_id: str, channel_id: str, respond: Respond) -> None:
        found = await self._find(run_id, team_id, channel_id, respond)
        if found is None:
            return
        not_running = (f"Run {code(run_id)} is not running; nothing to cancel. "
                       f"`/fanout status {escape(run_id)}` shows how it ended.")
        if not (found.run_running or found.waiting):
            await self._tell(respond, not_running)
            return
        if (refusal := self.may_cancel(found, user_id)) is not None:
            await self._tell(respond, refusal)
            return
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                answer = await found.reporter.execute_update(ReporterWorkflow.cancel, CancelRun(user_id))
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "AlreadyCancelling":
                await self._tell(respond, f"Run {code(run_id)} is already being cancelled (asked by "
                                 f"{mention(cause.message)}).")
            else:
                await self._tell(respond, not_running)
            return
        if answer != "cancelling":
            await self._tell(respond, not_running)
            return
        log.info("run %s: cancel requested by %s", run_id, user_id)
        if found.waiting:
            await respond(text=f"Withdrawn: run {code(run_id)} will not start.", response_type="ephemeral",
                          replace_original=False)
            return
        await respond(text=f"Cancelling {code(run_id)}: running children are being cancelled; the summary with the "
                      "results so far follows in the run's thread.", response_type="ephemeral", replace_original=False)

    async def list_runs(self, team_id: str, channel_id: str, respond: Respond) -> None:
        client = await self._client(respond)
        if client is None:
            return
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                listings = await list_channel_runs(client, team_id, channel_id,
                                                   workflow_queue=self.where.workflow_queue, ui_base=self.where.ui_base)
        except (TimeoutError, RPCError) as err:
            log.warning("list for %s: %s", channel_id, err)
            await self._tell(respond, f"Temporal did not answer in time ({escape(self.gateway.address)}); try "
                             "again in a moment.")
            return
        await respond(**list_message(channel_id, listings).as_ephemeral())

    # -- retry failed -----------------------------------------------------------------------------

    async def retry_failed(self, run_id: str, *, user_id: str, channel_id: str, thread_ts: str, trigger_id: str,
                           team_id: str, respond: Respond) -> None:
        found = await self._find(run_id, team_id, channel_id, respond)
        if found is None:
            return
        if not found.has_result:
            status = STATUS_NAMES.get(found.run_status, "not finished") if found.run_status else "not finished"
            await self._tell(respond, f"Run {code(run_id)} is {status.lower()}, so it has no failures to "
                             "retry (only a finished run's failures can be retried).")
            return
        try:
            result = await found.result()
            values = await failed_values(found.client, run_id, result)
            original = await run_request(found.client.get_workflow_handle(run_id))
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
        request = replace(original, ranges=ranges, batch_size=0, shard=None)
        origin = Origin(user_id=user_id, channel_id=channel_id, text=command_text(request),
                        trigger_id=trigger_id, team_id=team_id, thread_ts=thread_ts, retry_of=run_id)
        await self.start(request, origin, respond)

    # -- run again, edit and run, the form, the Home tab -------------------------------------------

    async def request_of(self, run_id: str, team_id: str, channel_id: str,
                         respond: Respond) -> tuple[FoundRun, FanoutRequest] | None:
        """This channel's run and the request it was started with (None: the user was told why)."""
        found = await self._find(run_id, team_id, channel_id, respond)
        if found is None:
            return None
        if found.run_desc is None:
            await self._tell(respond, f"Run {code(run_id)} never started, so there is nothing to run again.")
            return None
        try:
            return found, await run_request(found.client.get_workflow_handle(run_id))
        except (RPCError, ValueError) as err:
            await self._tell(respond, f"Cannot read how {code(run_id)} was started: {escape(str(err))}")
            return None

    async def run_again(self, run_id: str, *, user_id: str, team_id: str, channel_id: str,
                        respond: Respond) -> None:
        """The same request again, as a new run in the channel. Once per run and person: a second click
        (or a retried delivery) starts nothing more and says where the first one is."""
        found = await self.request_of(run_id, team_id, channel_id, respond)
        if found is None:
            return
        run, request = found
        origin = Origin(user_id=user_id, channel_id=channel_id, text=run.run.text or command_text(request),
                        trigger_id=f"again:{run_id}:{user_id}", team_id=team_id)
        told = Collected()
        started = await self.start(request, origin, told)
        if told.said:
            await respond(**told.said)
        elif started is None:
            await self._tell(respond, f"You already ran {code(run_id)} again, as {code(run_id_for(origin))}; its "
                             "message is in this channel.")

    async def start_from_form(self, request: FanoutRequest, origin: Origin) -> str:
        """Start a run the form describes; "" when it started (or had started: the same view submitted
        twice), else why not, as plain text for the form's inline error."""
        told = Collected()
        await self.start(request, origin, told)
        return told.text

    async def refresh_home(self, team_id: str, user_id: str) -> None:
        """Ask the user's HomeWorkflow to publish their Home tab (starting it if it is not running)."""
        client = await self.gateway.client()
        async with asyncio.timeout(COMMAND_BUDGET_S):
            await client.start_workflow(
                HomeWorkflow.run, HomeUser(team_id, user_id), id=home_id(self.where.workflow_queue, user_id),
                task_queue=self.where.workflow_queue, start_signal="refresh",
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, rpc_timeout=RPC_TIMEOUT)


class Collected:
    """A stand-in for ``respond`` that keeps what would have been said (for a form's inline error)."""

    def __init__(self) -> None:
        self.said: dict[str, Any] = {}

    async def __call__(self, **message: Any) -> None:
        self.said = message

    @property
    def text(self) -> str:
        return mrkdwn_to_text(str(self.said.get("text", "")), plain=True).replace("`", "")

