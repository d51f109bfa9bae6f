"""Report: the Temporal activities that talk to Slack, scheduled by the reporter (bot.reporting.reporter).

Each activity makes one Slack call (an upload is Slack's two-step flow), renders what it posts
(bot.render) when it runs, and maps Slack's answer to a Temporal outcome (bot.slack.calls). The bot
service is their worker, one task queue per Slack method group, each rate-limited queue-wide
(bot.queues): worker.py never holds Slack credentials.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import time
from datetime import timedelta
from functools import partial
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.client import WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from bot.files.csv_file import CSV_COLUMNS, csv_filename, wants_csv, write_csv
from bot.files.timeline import format_secs, format_speedup, render_timeline_png, speedup
from bot.render.blocks import Message
from bot.render.run import pictured, run_message, summary_message
from bot.reporting.payloads import (
    EditOutcome,
    EditProgress,
    NotifyStarter,
    PauseSchedule,
    PostResult,
    PostRunMessage,
    StepOutcome,
)
from bot.runs.info import RunInfo
from bot.runs.results import run_request, value_rows
from bot.slack.calls import SlackHealth, call, file_names, find_message, maybe_done
from bot.slack.upload import upload_file
from workflows.model import FanoutResult, Progress

log = logging.getLogger("fanout.report")
QUERY_TIMEOUT = timedelta(seconds=5)
LOOKUP_LIMIT = 15  # messages per read: what Slack allows non-Marketplace apps since 2025
LOOKBACK_S = 10.0  # a run message is looked for from shortly before its post was first scheduled
LOOKUP_PAGES = 5
STEP_ALREADY_DONE = ("function_execution_not_found", "execution_not_in_running_state")  # Slack: completed before


def timeline_filename(run: RunInfo) -> str:
    return f"{run.workflow_id}-timeline.png"


class SlackReport:
    """The reporter's Slack calls. One instance per bot process, holding its Slack client."""

    def __init__(self, slack: AsyncWebClient, health: SlackHealth) -> None:
        self.slack = slack
        self.health = health
        self._workspace_url = ""

    # -- posts ------------------------------------------------------------------------------------

    @activity.defn
    async def post_run_message(self, input: PostRunMessage) -> str:
        run = input.run
        if maybe_done() and (ts := await self._find_run_message(run)):
            return ts
        message = run_message(run, None, waiting_until=input.waiting_until, approvers=input.approvers)
        return await self._post(run.channel_id, message, run.thread_ts, "the run message")

    @activity.defn
    async def post_summary(self, input: PostResult) -> str:
        run = input.run
        if maybe_done():
            messages = await self._thread(run)
            if ts := find_message(messages, "fanout_summary", run.workflow_id):
                return ts
        ts = await self._post(run.channel_id, summary_message(run, input.result), run.thread_ts, "the summary")
        log.info("run %s reported: %d/%d succeeded", run.workflow_id, input.result.success_count,
                 input.result.total_children)
        return ts

    @activity.defn
    async def notify_starter(self, input: NotifyStarter) -> None:
        """One direct message to who started a run the bot cannot report, saying how to fix it."""
        run = input.run
        opened = await call(self.health, "conversations.open", self.slack.conversations_open, users=run.user_id)
        if run.schedule_id:
            text = (f"I could not post in <#{run.channel_id}> for your schedule `{run.schedule_id}` "
                    f"(`{input.reason}`), so I paused it. Invite me with `/invite @fanout` in that channel, then "
                    f"`/fanout resume {run.schedule_id}` there.")
        else:
            text = (f"I could not post in <#{run.channel_id}> for your run `{run.workflow_id}` (`{input.reason}`). "
                    "The run goes on without Slack. Invite me with `/invite @fanout` in that channel (or use a "
                    f"channel I am in), then follow it with `/fanout status {run.workflow_id}` there.")
        await call(self.health, "the direct message", self.slack.chat_postMessage,
                   channel=opened["channel"]["id"], text=text)

    # -- edits ------------------------------------------------------------------------------------

    @activity.defn
    async def edit_progress(self, input: EditProgress) -> EditOutcome:
        """Edit the run message with the run's progress as it is now (queried when the edit runs)."""
        info = activity.info()
        waited = max((info.started_time - info.current_attempt_scheduled_time).total_seconds(), 0.0)
        run = input.run
        try:
            progress: Progress = await activity.client().get_workflow_handle(run.workflow_id).query(
                "progress", result_type=Progress, rpc_timeout=QUERY_TIMEOUT)
        # No worker answering right now: skip this edit (or show "starting").
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            log.debug("progress query for %s failed: %s", run.workflow_id, err)
            if input.even_without_progress:
                await self._update(run, run_message(run, None), "an edit")
            return EditOutcome(None, waited)
        if progress.done:  # its result is on the way; the final edit follows
            return EditOutcome(progress, waited)
        if input.started_at:  # a query answers with the time of the run's last task; the clock moves on
            progress.elapsed_s = max(progress.elapsed_s, time.time() - input.started_at)
        await self._update(run, run_message(run, progress), "a progress edit")
        return EditOutcome(progress, waited)

    @activity.defn
    async def final_edit(self, input: PostResult) -> None:
        await self._update(input.run, run_message(input.run, None, final=input.result), "the final edit")

    # -- Workflow Builder steps --------------------------------------------------------------------

    @activity.defn
    async def complete_step(self, input: StepOutcome) -> None:
        """Complete the "Run a fan-out" step that started the run, with the app's bot token: the step's own
        short-lived token (``bot_access_token``) is never stored, as a workflow's history is not encrypted."""
        execution = input.step.function_execution_id
        result = input.result
        try:
            if input.error or result is None:
                await call(self.health, "the step's error", self.slack.functions_completeError,
                           function_execution_id=execution, error=input.error or "the run did not finish")
                return
            await call(self.health, "the step's completion", self.slack.functions_completeSuccess,
                       function_execution_id=execution, outputs=await self._step_outputs(input, result))
        except ApplicationError as err:
            if maybe_done() and any(gone in str(err) for gone in STEP_ALREADY_DONE):
                return  # an earlier attempt completed it, and its answer was lost
            raise

    async def _step_outputs(self, input: StepOutcome, result: FanoutResult) -> dict[str, Any]:
        link = ""
        if input.summary_ts and input.run.thread_ts:  # a permalink to the summary, in the run's thread
            workspace = await self._workspace()
            link = (f"{workspace}archives/{input.run.channel_id}/p{input.summary_ts.replace('.', '')}"
                    f"?thread_ts={input.run.thread_ts}")
        return {"run_id": input.run.workflow_id, "success_count": result.success_count,
                "failure_count": result.failure_count, "success_rate": result.success_rate, "summary_link": link}

    async def _workspace(self) -> str:
        if not self._workspace_url:
            self._workspace_url = str((await call(self.health, "auth.test", self.slack.auth_test)).get("url") or "")
        return self._workspace_url

    # -- uploads ----------------------------------------------------------------------------------

    @activity.defn
    async def upload_timeline(self, input: PostResult) -> None:
        run, result = input.run, input.result
        if not pictured(result) or (maybe_done() and timeline_filename(run) in file_names(await self._thread(run))):
            return
        request = await run_request(activity.client(), run.workflow_id)  # its values label the bars
        try:
            png = await asyncio.to_thread(render_timeline_png, result, run.workflow_id, request.ranges)
        except Exception as err:  # drawing fails the same way every time: skip the chart, keep the rest
            raise ApplicationError(f"the timeline could not be drawn: {err}", type="TimelineNotDrawn",
                                   non_retryable=True) from err
        await self._upload(run, content=png, filename=timeline_filename(run),
                           title=f"Execution timeline of {run.workflow_id}", alt_txt=alt_text(result))

    @activity.defn
    async def upload_csv(self, input: PostResult) -> None:
        run, result = input.run, input.result
        if not wants_csv(result) or (maybe_done() and csv_filename(run) in file_names(await self._thread(run))):
            return
        fd, path = tempfile.mkstemp(prefix="fanout-", suffix=".csv")
        os.close(fd)
        try:
            rows = value_rows(activity.client(), run.workflow_id, result)
            count = await write_csv(rows, path, on_progress=lambda n: activity.heartbeat("csv", n))
            log.info("run %s: CSV of %d rows (%d bytes)", run.workflow_id, count, os.path.getsize(path))
            await self._upload(run, file=path, filename=csv_filename(run),
                               title=f"{run.workflow_id}: every value ({count:,} rows)",
                               initial_comment=f"Every value of `{run.workflow_id}` as CSV: {count:,} rows "
                                               f"({', '.join(CSV_COLUMNS)}).")
        finally:
            os.unlink(path)

    # -- helpers ----------------------------------------------------------------------------------

    async def _post(self, channel: str, message: Message, thread_ts: str, what: str) -> str:
        kwargs: dict[str, Any] = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if message.metadata:
            kwargs["metadata"] = message.metadata
        response = await call(self.health, what, self.slack.chat_postMessage, **kwargs)
        return str(response["ts"])

    async def _update(self, run: RunInfo, message: Message, what: str) -> None:
        kwargs: dict[str, Any] = {"channel": run.channel_id, "ts": run.message_ts, "text": message.text,
                                  "blocks": message.blocks}
        if message.metadata:
            kwargs["metadata"] = message.metadata
        await call(self.health, what, self.slack.chat_update, **kwargs)

    async def _upload(self, run: RunInfo, **kwargs: Any) -> None:
        """``content`` (bytes) through files_upload_v2; a ``file`` on disk streamed (bot.slack.upload: the CSV of a
        million values never sits in the bot's memory)."""
        upload = partial(upload_file, self.slack) if "file" in kwargs else self.slack.files_upload_v2
        await call(self.health, f"the upload of {kwargs['filename']}", upload,
                   channel=run.channel_id, thread_ts=run.thread_ts or None, **kwargs)

    async def _thread(self, run: RunInfo) -> list[dict[str, Any]]:
        """The run's thread (with metadata and shared files): read only when a retry may repeat a post."""
        messages: list[dict[str, Any]] = []
        cursor = None
        for _ in range(LOOKUP_PAGES):
            response = await call(self.health, "reading the thread", self.slack.conversations_replies,
                                  channel=run.channel_id, ts=run.thread_ts, include_all_metadata=True,
                                  limit=LOOKUP_LIMIT, cursor=cursor)
            messages += list(response.get("messages") or [])
            cursor = (response.get("response_metadata") or {}).get("next_cursor")
            if not response.get("has_more") or not cursor:
                break
        return messages

    async def _find_run_message(self, run: RunInfo) -> str | None:
        if run.thread_ts:  # a retry's message is a reply in the original run's thread
            return find_message(await self._thread(run), "fanout_started", run.workflow_id)
        oldest = activity.info().scheduled_time.timestamp() - LOOKBACK_S
        response = await call(self.health, "reading the channel", self.slack.conversations_history,
                              channel=run.channel_id, oldest=f"{oldest:.6f}", include_all_metadata=True,
                              limit=LOOKUP_LIMIT)
        return find_message(list(response.get("messages") or []), "fanout_started", run.workflow_id)


@activity.defn
async def pause_schedule(input: PauseSchedule) -> None:
    """Pause a schedule whose channel cannot be posted in (it would fail at every firing), with the reason."""
    await activity.client().get_schedule_handle(input.schedule_id).pause(note=input.reason[:500])


def alt_text(result: FanoutResult) -> str:
    """A one-line description of the timeline chart for screen readers (Slack's alt text)."""
    ratio = speedup(result)
    faster = f", {format_speedup(ratio)} faster than one after another" if ratio is not None else ""
    return (f"Timeline of {len(result.spans):,} child workflows: {result.success_count:,} succeeded, "
            f"{result.failure_count:,} failed, {result.cancelled_count:,} cancelled; "
            f"wall time {format_secs(result.wall_s)}{faster}.")[:1000]
