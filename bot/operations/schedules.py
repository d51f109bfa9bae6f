"""Schedules: runs again and again, as Temporal Schedules whose action starts an ordinary reporter; and what the
schedule commands do (``Schedules``: schedule, schedules, pause, resume, trigger, delete).

``/fanout schedule every 1h 1-10`` creates ``fanout-sch-<id>``, a Temporal Schedule (bot.language.schedule_spec
parses when). Each firing starts a ReporterWorkflow named by Temporal after the schedule and the firing's
time, which names its run after itself (bot.runs.info.run_id_of): an ordinary run, reported in the channel the
schedule was made in. The search attributes and the memo are on the schedule's start action, so every
firing carries them (and ``FanoutSchedule``), and on the schedule itself, so ``/fanout schedules`` is one
visibility query on the channel. Overlap policy SKIP: a firing while the previous one is still going is
skipped, so a schedule has at most one run going. A firing missed by more than CATCHUP (Temporal was
down) is skipped, not run late. Cron times are UTC unless ``--tz``.

A schedule belongs to its channel like a run: it is acted on only from its channel, by its owner or
an admin (or anyone, with FANOUT_CANCEL_POLICY=channel). A channel that can no longer be posted in
pauses the schedule (bot.reporting.reporter), with one direct message to its owner.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleDescription,
    ScheduleHandle,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.service import RPCError, RPCStatusCode

from bot.language.grammar import ScheduleActionCommand, ScheduleCommand
from bot.language.schedule_spec import When
from bot.mrkdwn import code, escape, slack_date
from bot.operations.answers import Answer, no_answer, refused, said, shown
from bot.operations.permissions import Caller, may_act
from bot.operations.runs import COMMAND_BUDGET_S, Runs, unescape_slack
from bot.operations.start import Invocation, run_info
from bot.render.replies import schedules_message
from bot.reporting.payloads import ReportInput
from bot.reporting.reporter import ReporterWorkflow
from bot.runs.info import RunInfo, run_id_of, to_memo
from runtime import search_attributes as sa
from runtime.temporal import RPC_TIMEOUT
from workflows.model import FanoutRequest

log = logging.getLogger("fanout.bot")
PREFIX = "fanout-sch-"
CATCHUP = timedelta(minutes=10)
LISTED = 20


def schedule_id_for(team_id: str, trigger_id: str) -> str:
    """From the command's trigger: the same command delivered twice creates one schedule."""
    return PREFIX + hashlib.sha256(f"{team_id}:{trigger_id}".encode()).hexdigest()[:10]


def spec_of(when: When) -> ScheduleSpec:
    if when.every_s:
        return ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=when.every_s))])
    return ScheduleSpec(cron_expressions=[when.cron], time_zone_name=when.time_zone)


async def create(client: Client, *, schedule_id: str, when: When, run: RunInfo, request: FanoutRequest,
                 workflow_queue: str, fanout_queue: str, ui_base: str, progress_interval_s: float) -> None:
    """Raises ScheduleAlreadyRunningError for a schedule that exists (a duplicate delivery), RPCError."""
    firing = replace(run, workflow_id="", ui_url="", schedule_id=schedule_id)
    attributes = sa.for_run(run.team_id, run.channel_id, run.user_id, "running", schedule_id)
    memo = {**to_memo(firing), "schedule_spec": when.text}
    action = ScheduleActionStartWorkflow(
        ReporterWorkflow.run, ReportInput(firing, request, fanout_queue, progress_interval_s, ui_base=ui_base),
        id=schedule_id, task_queue=workflow_queue, memo=memo, typed_search_attributes=attributes)
    schedule = Schedule(action=action, spec=spec_of(when),
                        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP),
                        state=ScheduleState(note=f"made by {run.user_id} in {run.channel_id}"))
    await client.create_schedule(schedule_id, schedule, memo=memo, rpc_timeout=RPC_TIMEOUT,
                                 search_attributes=sa.for_run(run.team_id, run.channel_id, run.user_id, "scheduled",
                                                              schedule_id))


@dataclass
class FoundSchedule:
    handle: ScheduleHandle
    description: ScheduleDescription
    owner: str


async def find(client: Client, schedule_id: str, team_id: str, channel_id: str) -> FoundSchedule | None:
    """This channel's schedule, or None: another channel's, or not one of ours, is "not found"."""
    if not schedule_id.startswith(PREFIX):
        return None
    handle = client.get_schedule_handle(schedule_id)
    try:
        description = await handle.describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    attrs = description.typed_search_attributes
    if attrs.get(sa.TEAM) != team_id or attrs.get(sa.CHANNEL) != channel_id or attrs.get(sa.SCHEDULE) != schedule_id:
        return None
    return FoundSchedule(handle, description, attrs.get(sa.USER) or "")


@dataclass(frozen=True)
class ScheduleListing:
    schedule_id: str
    when: str
    text: str
    owner: str
    paused: bool
    next_fire: datetime | None
    last_run: str  # the last firing's run id ("" before the first)
    last_status: str  # how it went (its reporter's FanoutStatus)


async def list_channel(client: Client, team_id: str, channel_id: str) -> list[ScheduleListing]:
    if not (sa.is_slack_id(team_id) and sa.is_slack_id(channel_id)):
        return []
    query = f"{sa.TEAM.name} = '{team_id}' AND {sa.CHANNEL.name} = '{channel_id}'"
    listings: list[ScheduleListing] = []
    async for entry in await client.list_schedules(query=query, rpc_timeout=RPC_TIMEOUT):
        if not entry.id.startswith(PREFIX) or len(listings) >= LISTED:
            continue
        found = await find(client, entry.id, team_id, channel_id)
        if found is None:
            continue
        info, memo = found.description.info, await found.description.memo()
        fired = [a.action for a in info.recent_actions if isinstance(a.action, ScheduleActionExecutionStartWorkflow)]
        last = fired[-1].workflow_id if fired else ""
        listings.append(ScheduleListing(
            schedule_id=entry.id, when=str(memo.get("schedule_spec", "")), text=str(memo.get("command_text", "")),
            owner=found.owner, paused=found.description.schedule.state.paused,
            next_fire=info.next_action_times[0] if info.next_action_times else None,
            last_run=run_id_of(last) if last else "", last_status=await _status_of(client, last) if last else ""))
    return listings


async def _status_of(client: Client, reporter_id: str) -> str:
    try:
        desc = await client.get_workflow_handle(reporter_id).describe(rpc_timeout=RPC_TIMEOUT)
    except RPCError:
        return ""
    return desc.typed_search_attributes.get(sa.STATUS) or ""


class Schedules:
    """The schedule commands, for a caller in a channel: a schedule belongs to its channel as a run does."""

    def __init__(self, runs: Runs) -> None:
        self.runs = runs

    async def schedule(self, caller: Caller, command: ScheduleCommand, trigger_id: str) -> Answer | None:
        client = await self.runs.client()
        if isinstance(client, Answer):
            return client
        schedule_id = schedule_id_for(caller.team_id, trigger_id)
        invocation = Invocation(user_id=caller.user_id, channel_id=caller.channel_id,
                                text=unescape_slack(command.run_text), team_id=caller.team_id)
        deployment = self.runs.deployment
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                await create(client, schedule_id=schedule_id, when=command.when,
                             run=run_info(command.run.request, invocation, "", ""), request=command.run.request,
                             workflow_queue=deployment.workflow_queue, fanout_queue=deployment.fanout_queue,
                             ui_base=deployment.ui_base, progress_interval_s=deployment.progress_interval_s)
                found = await find(client, schedule_id, caller.team_id, caller.channel_id)
        except ScheduleAlreadyRunningError:
            log.info("duplicate schedule command %s ignored", schedule_id)
            return None
        except (TimeoutError, RPCError) as err:
            log.warning("schedule %s not created: %s", schedule_id, err)
            return no_answer(self.runs.gateway.address, "the schedule may or may not have been made: check "
                             "`/fanout schedules` in a moment before trying again.")
        upcoming = found.description.info.next_action_times if found else []
        nxt = f"; the first run at {slack_date(upcoming[0].isoformat())}" if upcoming else ""
        log.info("schedule %s created by %s in %s: %s", schedule_id, caller.user_id, caller.channel_id,
                 command.when.text)
        return said(f"Scheduled {code(schedule_id)}: {escape(command.when.text)}, "
                    f"{code('/fanout ' + command.run_text)} in this channel{nxt}. `/fanout schedules` lists it; "
                    f"`/fanout pause|resume|trigger|delete {schedule_id}` manage it.")

    async def list_schedules(self, caller: Caller) -> Answer:
        client = await self.runs.client()
        if isinstance(client, Answer):
            return client
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                listings = await list_channel(client, caller.team_id, caller.channel_id)
        except (TimeoutError, RPCError) as err:
            log.warning("schedules of %s: %s", caller.channel_id, err)
            return no_answer(self.runs.gateway.address)
        return shown(schedules_message(caller.channel_id, listings))

    async def act(self, caller: Caller, command: ScheduleActionCommand) -> Answer:
        """Pause, resume, trigger or delete: by the schedule's owner or an admin (FANOUT_CANCEL_POLICY)."""
        client = await self.runs.client()
        if isinstance(client, Answer):
            return client
        sid = command.schedule_id
        try:
            async with asyncio.timeout(COMMAND_BUDGET_S):
                found = await find(client, sid, caller.team_id, caller.channel_id)
                if found is None:
                    return refused(f"No schedule {code(sid)} in this channel; `/fanout schedules` lists them.")
                what = f"{command.action} schedule {code(sid)}"
                if (refusal := may_act(self.runs.settings, caller, found.owner, what)):
                    return refused(refusal)
                note = f"{command.action} by {caller.user_id}"
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
            return no_answer(self.runs.gateway.address)
        log.info("schedule %s: %s by %s", sid, command.action, caller.user_id)
        done = {"pause": "paused", "resume": "resumed", "trigger": "fired now (its run's message follows)",
                "delete": "deleted (its runs so far stay)"}[command.action]
        return said(f"Schedule {code(sid)} {done}.")
