"""What the commands and buttons about runs do: start one, status, cancel, list, retry the failed values, run
again, and the request a run was started with (Edit and run). The same for every surface: each operation takes
who asks (a ``Caller``) and returns its ``Answer``; the surface shows it (Slack privately, the terminal on
stdout). Everything public about a run is posted by its reporter (bot.reporting.reporter), never from here.

Each operation finishes within COMMAND_BUDGET_S, so the answer comes within Slack's 3 s even when Temporal is
down (the command client's retries end within that budget, runtime.temporal).

A run belongs to its channel: from Slack, status, cancel and retry act only on a run whose reporter carries the
caller's workspace and channel (bot.runs.lookup); anything else gets the same answer as an id that does not
exist, and the workflow is not touched. From the terminal, any run /fanout started.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from bot.language.grammar import RunCommand
from bot.language.help import command_text, usage_text
from bot.language.table import APPROVE_TIMEOUT_S
from bot.mrkdwn import code, escape, mention
from bot.operations.answers import Answer, no_answer, refused, said, shown, unreachable
from bot.operations.permissions import Caller, may_act
from bot.operations.start import (
    Deployment,
    Invocation,
    OverCap,
    may_have_started,
    run_id_for,
    start_reported,
    start_unreported,
)
from bot.render.replies import list_message, status_message
from bot.reporting.payloads import Approval, CancelRun, Step
from bot.runs.info import RunInfo
from bot.runs.lookup import STATUS_NAMES, FoundRun, Scope, find_run, list_runs
from bot.runs.results import failed_values, run_request
from bot.settings import Settings
from runtime.temporal import TemporalGateway, TemporalUnavailable
from workflows.model import FanoutRequest, FanoutResult, Progress
from workflows.parent import ParentWorkflow
from workflows.values import compress

log = logging.getLogger("fanout.bot")

COMMAND_BUDGET_S = 2.5  # every answer well within Slack's 3 s
MAX_RETRY_RANGES = 5000  # ~150 KB of request payload, well under Temporal's 512 KiB warning
LIST_LIMIT = {True: 20, False: 10}  # runs `list` shows: in a terminal, in a channel


def unescape_slack(text: str) -> str:
    """Slack sends &, < and > in command text as entities; the memo keeps what the user typed."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


class Runs:
    def __init__(self, settings: Settings, gateway: TemporalGateway, deployment: Deployment) -> None:
        self.settings = settings
        self.gateway = gateway
        self.deployment = deployment

    async def client(self) -> Client | Answer:
        """Temporal's client, or the answer that says it is unreachable."""
        try:
            return await self.gateway.client()
        except TemporalUnavailable as err:
            log.warning("%s", err)
            return unreachable(self.gateway.address)

    # -- starting a run --------------------------------------------------------------------------

    async def run(self, command: RunCommand, invocation: Invocation) -> Answer | None:
        """A run from Slack: None once it started (its reporter posts it), else why not."""
        return await self.start(command.request, invocation, approval=self.approval_for(command))

    def approval_for(self, command: RunCommand) -> Approval | None:
        """``--approve``, or a run over FANOUT_APPROVE_OVER values: it waits for someone else to approve it."""
        over = 0 < self.settings.approve_over < command.value_count
        if not command.approve_timeout_s and not over:
            return None
        return Approval(timeout_s=command.approve_timeout_s or APPROVE_TIMEOUT_S,
                        approvers=sorted(self.settings.approvers))

    async def start(self, request: FanoutRequest, invocation: Invocation, *, approval: Approval | None = None,
                    step: Step | None = None, duplicate: Answer | None = None) -> Answer | None:
        """Start a reported run: None when it started, else why not. When this very action had started one already
        (a duplicate delivery, a second click), ``duplicate``: nothing to say, unless the caller words it."""
        client = await self.client()
        if isinstance(client, Answer):
            return unreachable(self.gateway.address, "nothing was started")
        run_id = run_id_for(invocation)
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                run = await start_reported(client, request, invocation, self.deployment, approval=approval,
                                           step=step)
        except OverCap as over:
            return refused(self._over_cap(over.runs))
        except (TimeoutError, RPCError) as err:
            if isinstance(err, RPCError) and not may_have_started(err):
                log.warning("start refused: %s", err)
                if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
                    return unreachable(self.gateway.address, "nothing was started")
                return refused(f"Temporal did not accept the run ({err.status.name}: {escape(err.message)}); "
                               "nothing was started.")
            log.warning("start of %s may have landed: %s", run_id, err or "timed out")
            return no_answer(self.gateway.address, f"I cannot tell whether run {code(run_id)} started. If it did, "
                             f"its message appears here once Temporal is back; `/fanout status {escape(run_id)}` "
                             "tells you in a minute.")
        if run is None:
            log.info("duplicate start of %s ignored", run_id)
            return duplicate
        log.info("run %s started by %s in %s: %d values", run.workflow_id, run.user_id, run.channel_id,
                 run.value_count)
        return None

    def _over_cap(self, runs: list[str]) -> str:
        cap = self.settings.max_runs_per_user
        listed = ", ".join(code(r) for r in runs[:10]) or "(none listed)"
        return (f"You have {len(runs)} run{'s' if len(runs) != 1 else ''} going, the most one person may have at "
                f"once ({cap}, FANOUT_MAX_RUNS_PER_USER): {listed}. Wait for one to finish, or cancel one with "
                "`/fanout cancel <run-id>`.")

    async def start_in_terminal(
            self, request: FanoutRequest, text: str, caller: Caller,
    ) -> tuple[RunInfo, WorkflowHandle[ParentWorkflow, FanoutResult]] | Answer:
        """A run from the terminal: the ParentWorkflow alone, reported nowhere (the lab's own way)."""
        client = await self.client()
        if isinstance(client, Answer):
            return unreachable(self.gateway.address, "nothing was started")
        invocation = Invocation(user_id=caller.user_id, channel_id="cli", text=text, slack=False)
        try:
            return await start_unreported(client, request, invocation, task_queue=self.deployment.fanout_queue,
                                          ui_base=self.deployment.ui_base)
        except RPCError as err:
            return refused(f"Temporal did not accept the run ({err.status.name}: {escape(err.message)}); "
                           "nothing was started.")

    # -- finding a run -----------------------------------------------------------------------------

    def scope(self, caller: Caller) -> Scope:
        if caller.terminal:
            return Scope()
        return Scope(self.deployment.workflow_queue, caller.team_id, caller.channel_id)

    async def find(self, caller: Caller, run_id: str) -> FoundRun | Answer:
        """The run if it is the caller's to see, else the answer (the same whatever the reason)."""
        client = await self.client()
        if isinstance(client, Answer):
            return client
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                found = await find_run(client, run_id, self.scope(caller), self.deployment.ui_base)
        except (TimeoutError, RPCError) as err:
            log.warning("looking up %s: %s", run_id, err)
            return no_answer(self.gateway.address)
        if found is None:
            where = "in this namespace" if caller.terminal else "in this channel"
            return refused(f"No run {code(run_id)} found {where}. Run ids are in each run's message and in "
                           "`/fanout list`.", usage_text())
        return found

    # -- status, cancel, list ----------------------------------------------------------------------

    async def status(self, caller: Caller, run_id: str) -> Answer:
        found = await self.find(caller, run_id)
        if isinstance(found, Answer):
            return found
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
                    if found.reporter is None and result.status == "cancelled":
                        status = "Cancelled"  # no reporter to have recorded it
        except (TimeoutError, RPCError, WorkflowFailureError) as err:  # e.g. no worker answers the query
            log.warning("status of %s: %s", run_id, err)
            status += " (progress unavailable: no worker answered)"
        return shown(status_message(run_id, status, progress, result, found.run.ui_url))

    async def cancel(self, caller: Caller, run_id: str) -> Answer:
        """Through the run's reporter (its ``cancel`` update, which records who asked), or, for a run started from
        the terminal, the ParentWorkflow's ``request_cancel`` signal."""
        found = await self.find(caller, run_id)
        if isinstance(found, Answer):
            return found
        not_running = refused(f"Run {code(run_id)} is not running; nothing to cancel. "
                              f"`/fanout status {escape(run_id)}` shows how it ended.")
        if not found.by_fanout:
            return refused(f"Run {code(run_id)} was not started by /fanout, so it does not act on it; "
                           f"`temporal workflow cancel -w {escape(run_id)}` does.")
        if not (found.run_running or found.waiting):
            return not_running
        if (refusal := may_act(self.settings, caller, found.run.user_id, f"cancel run {code(run_id)}")) is not None:
            return refused(refusal)
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                if found.reporter is not None:
                    answer = await found.reporter.execute_update("cancel", CancelRun(caller.user_id), result_type=str)
                else:
                    await found.client.get_workflow_handle(run_id).signal("request_cancel", caller.user_id)
                    answer = "cancelling"
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.type == "AlreadyCancelling":
                return refused(f"Run {code(run_id)} is already being cancelled (asked by {mention(cause.message)}).")
            return not_running
        except (TimeoutError, RPCError) as err:
            log.warning("cancel of %s: %s", run_id, err)
            return no_answer(self.gateway.address, "the cancel may or may not have reached it: `/fanout status "
                             f"{escape(run_id)}` tells you in a moment.")
        if answer != "cancelling":
            return not_running
        log.info("run %s: cancel requested by %s", run_id, caller.user_id)
        if found.waiting:
            return said(f"Withdrawn: run {code(run_id)} will not start.")
        return said(f"Cancelling {code(run_id)}: running children are being cancelled; the summary with the "
                    "results so far follows in the run's thread." if found.reporter is not None else
                    f"Cancelling {code(run_id)}: running children stop, finished results are kept.")

    async def list_runs(self, caller: Caller) -> Answer:
        """The channel's latest runs, or (from the terminal) every run /fanout started, newest first."""
        client = await self.client()
        if isinstance(client, Answer):
            return client
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                listings = await list_runs(client, self.scope(caller), self.deployment.ui_base,
                                           limit=LIST_LIMIT[caller.terminal])
        except (TimeoutError, RPCError) as err:
            log.warning("list for %s: %s", caller.channel_id or "the terminal", err)
            return no_answer(self.gateway.address)
        return shown(list_message(caller.channel_id, listings))

    # -- buttons on the summary: retry failed, run again, edit and run ------------------------------

    async def retry_failed(self, caller: Caller, run_id: str, *, thread_ts: str, trigger_id: str) -> Answer | None:
        found = await self.find(caller, run_id)
        if isinstance(found, Answer):
            return found
        if not found.has_result:
            status = STATUS_NAMES.get(found.run_status, "not finished") if found.run_status else "not finished"
            return refused(f"Run {code(run_id)} is {status.lower()}, so it has no failures to retry (only a "
                           "finished run's failures can be retried).")
        try:
            result = await found.result()
            values = await failed_values(found.client, run_id, result)
            original = await run_request(found.client, run_id)
        except (RPCError, WorkflowFailureError) as err:
            return refused(f"Cannot read the results of {code(run_id)}: {escape(str(err))}")
        if not values:
            return refused(f"Run {code(run_id)} has no failed values to retry.")
        ranges = compress(values)
        if len(ranges) > MAX_RETRY_RANGES:
            # Scattered failures of a huge run do not compress: as one request they would pass Temporal's
            # payload limit. Say so instead of failing at the server.
            return refused(f"Run {code(run_id)} has {len(values):,} failed values scattered over {len(ranges):,} "
                           f"ranges; a retry can take at most {MAX_RETRY_RANGES:,} ranges. The CSV in the run's "
                           "thread lists every failed value.")
        request = replace(original, ranges=ranges, batch_size=0, shard=None)
        invocation = Invocation(user_id=caller.user_id, channel_id=caller.channel_id, text=command_text(request),
                                trigger_id=trigger_id, team_id=caller.team_id, thread_ts=thread_ts, retry_of=run_id)
        retried = refused(f"The failures of {code(run_id)} were already retried, as {code(run_id_for(invocation))}; "
                          "its summary is in this thread.")
        return await self.start(request, invocation, duplicate=retried)

    async def request_of(self, caller: Caller, run_id: str) -> tuple[FoundRun, FanoutRequest] | Answer:
        """This channel's run and the request it was started with."""
        found = await self.find(caller, run_id)
        if isinstance(found, Answer):
            return found
        if found.run_desc is None:
            return refused(f"Run {code(run_id)} never started, so there is nothing to run again.")
        try:
            return found, await run_request(found.client, run_id)
        except (RPCError, ValueError) as err:
            return refused(f"Cannot read how {code(run_id)} was started: {escape(str(err))}")

    async def run_again(self, caller: Caller, run_id: str) -> Answer | None:
        """The same request again, as a new run in the channel. Once per run and person: a second click (or a
        retried delivery) starts nothing more and says where the first one is."""
        found = await self.request_of(caller, run_id)
        if isinstance(found, Answer):
            return found
        run, request = found
        invocation = Invocation(user_id=caller.user_id, channel_id=caller.channel_id,
                                text=run.run.text or command_text(request),
                                trigger_id=f"again:{run_id}:{caller.user_id}", team_id=caller.team_id)
        again = refused(f"You already ran {code(run_id)} again, as {code(run_id_for(invocation))}; its message is in "
                        "this channel.")
        return await self.start(request, invocation, duplicate=again)
