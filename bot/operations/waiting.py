"""What the commands and clicks do for runs that wait on time or on people: schedules, approvals, and the
Workflow Builder step. Private answers go through ``respond`` as in bot.operations, whose channel rules
and permissions they share: a schedule or an approval belongs to its channel.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from temporalio.client import (
    ScheduleAlreadyRunningError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from bot.language.grammar import RunCommand, ScheduleActionCommand, ScheduleCommand
from bot.mrkdwn import code, escape, mention, slack_date
from bot.operations import schedules
from bot.operations.runs import COMMAND_BUDGET_S, Operations, Respond, unescape_slack
from bot.operations.start import Origin, run_info
from bot.render.replies import schedules_message
from bot.reporting.payloads import Decision, Step
from bot.reporting.reporter import ReporterWorkflow

log = logging.getLogger("fanout.bot")
# A decision is answered through the click's response_url (valid for 30 min), after the ack: it may wait for
# a replica to take over from one that just died (bot.workers.STICKY_TIMEOUT) rather than give up at 2.5 s.
DECIDE_BUDGET_S = 10.0


class Waiting:
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    # -- approvals --------------------------------------------------------------------------------

    async def decide(self, run_id: str, *, approve: bool, user_id: str, team_id: str, channel_id: str,
                     respond: Respond) -> None:
        found = await self.ops._find(run_id, team_id, channel_id, respond)
        if found is None:
            return
        not_waiting = (f"Run {code(run_id)} is not waiting for a decision (it was approved, rejected or withdrawn, or "
                       f"it expired). `/fanout status {escape(run_id)}` shows how it stands.")
        if not found.waiting:
            await self.ops._tell(respond, not_waiting)
            return
        try:
            async with asyncio.timeout(DECIDE_BUDGET_S):
                await found.reporter.execute_update(ReporterWorkflow.decide, Decision(user_id, approve),
                                                    rpc_timeout=timedelta(seconds=DECIDE_BUDGET_S))
        except WorkflowUpdateFailedError as err:  # the reporter's validator refused: say why
            cause = err.cause
            kind = cause.type if isinstance(cause, ApplicationError) else ""
            if kind == "OwnRun":
                problem = f"You started run {code(run_id)}: someone else in this channel must approve it."
            elif kind == "NotAnApprover":
                names = cause.message if isinstance(cause, ApplicationError) else ""
                allowed = ", ".join(mention(a) for a in names.split(",") if a)
                problem = f"Only {allowed} may approve or reject run {code(run_id)} (FANOUT_APPROVERS)."
            else:
                problem = not_waiting
            await self.ops._tell(respond, problem)
            return
        except (TimeoutError, RPCError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
            log.warning("decision on %s: %s", run_id, err)
            await self.ops._tell(respond, f"Temporal did not answer in time, so your decision on run {code(run_id)} "
                                 "may or may not be recorded: its message shows it once it is. If it still offers "
                                 "Approve and Reject in a minute, click again.")
            return
        log.info("run %s %s by %s", run_id, "approved" if approve else "rejected", user_id)
        what = "Approved: it starts now" if approve else "Rejected: it will not run"
        await respond(text=f"{what} — run {code(run_id)}; its thread will say how it went.", response_type="ephemeral",
                      replace_original=False)

    # -- schedules --------------------------------------------------------------------------------

    async def schedule(self, command: ScheduleCommand, payload: dict[str, Any], respond: Respond) -> None:
        client = await self.ops._client(respond)
        if client is None:
            return
        team_id, channel_id, user_id = payload.get("team_id", ""), payload.get("channel_id", ""), payload.get(
            "user_id", "")
        schedule_id = schedules.schedule_id_for(team_id, payload.get("trigger_id", ""))
        origin = Origin(user_id=user_id, channel_id=channel_id, text=unescape_slack(command.run_text), team_id=team_id)
        where = self.ops.where
        run = run_info(command.run.request, origin, "", "")
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                await schedules.create(client, schedule_id=schedule_id, when=command.when, run=run,
                                       request=command.run.request, workflow_queue=where.workflow_queue,
                                       fanout_queue=where.fanout_queue, ui_base=where.ui_base,
                                       progress_interval_s=where.progress_interval_s)
                found = await schedules.find(client, schedule_id, team_id, channel_id)
        except ScheduleAlreadyRunningError:
            log.info("duplicate schedule command %s ignored", schedule_id)
            return
        except (TimeoutError, RPCError) as err:
            log.warning("schedule %s not created: %s", schedule_id, err)
            why = err.message if isinstance(err, RPCError) else "no answer in time"
            await self.ops._tell(respond, f"Temporal did not create the schedule ({escape(why)}); check "
                                 f"`/fanout schedules` in a moment before trying again.")
            return
        upcoming = found.description.info.next_action_times if found else []
        nxt = f"; the first run at {slack_date(upcoming[0].isoformat())}" if upcoming else ""
        log.info("schedule %s created by %s in %s: %s", schedule_id, user_id, channel_id, command.when.text)
        await respond(text=f"Scheduled {code(schedule_id)}: {escape(command.when.text)}, "
                      f"{code('/fanout ' + command.run_text)} in this channel{nxt}. `/fanout schedules` lists it; "
                      f"`/fanout pause|resume|trigger|delete {schedule_id}` manage it.", response_type="ephemeral",
                      replace_original=False)

    async def list_schedules(self, team_id: str, channel_id: str, respond: Respond) -> None:
        client = await self.ops._client(respond)
        if client is None:
            return
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                listings = await schedules.list_channel(client, team_id, channel_id)
        except (TimeoutError, RPCError) as err:
            log.warning("schedules of %s: %s", channel_id, err)
            await self.ops._tell(respond, "Temporal did not answer in time; try again in a moment.")
            return
        await respond(**schedules_message(channel_id, listings).as_ephemeral())

    async def act(self, command: ScheduleActionCommand, *, user_id: str, team_id: str, channel_id: str,
                  respond: Respond) -> None:
        client = await self.ops._client(respond)
        if client is None:
            return
        sid = command.schedule_id
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                found = await schedules.find(client, sid, team_id, channel_id)
                if found is None:
                    await self.ops._tell(respond, f"No schedule {code(sid)} in this channel; `/fanout schedules` "
                                         "lists them.")
                    return
                if (refusal := self.ops.may_act(found.owner, user_id, f"{command.action} schedule {code(sid)}")):
                    await self.ops._tell(respond, refusal)
                    return
                note = f"{command.action} by {user_id}"
                if command.action == "pause":
                    await found.handle.pause(note=note)
                elif command.action == "resume":
                    await found.handle.unpause(note=note)
                elif command.action == "trigger":
                    await found.handle.trigger()
                else:
                    await found.handle.delete()
        except (TimeoutError, RPCError) as err:
            log.warning("%s of schedule %s: %s", command.action, sid, err)
            await self.ops._tell(respond, "Temporal did not answer in time; try again in a moment.")
            return
        log.info("schedule %s: %s by %s", sid, command.action, user_id)
        done = {"pause": "paused", "resume": "resumed", "trigger": "fired now (its run's message follows)",
                "delete": "deleted (its runs so far stay)"}[command.action]
        await respond(text=f"Schedule {code(sid)} {done}.", response_type="ephemeral", replace_original=False)

    # -- Workflow Builder -------------------------------------------------------------------------

    async def start_step(self, command: RunCommand, *, text: str, channel_id: str, team_id: str,
                         function_execution_id: str) -> str:
        """Start the run of a "Run a fan-out" step; "" when it started, else why not (for ``fail``). A step has
        no human starter: its run reports in the step's channel, and counts against nobody's cap."""
        told: list[str] = []

        async def tell(**message: Any) -> None:
            told.append(str(message.get("text", "")))

        origin = Origin(user_id="", channel_id=channel_id, text=text, team_id=team_id,
                        trigger_id=f"step:{function_execution_id}")
        await self.ops.start(command.request, origin, tell, step=Step(function_execution_id))
        return told[-1] if told else ""
