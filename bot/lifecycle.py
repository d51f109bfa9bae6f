"""A run's life in Slack: its message, in-place progress, and exactly one threaded summary.

Each run is watched by one task held here (so it is not garbage-collected and can be
awaited on shutdown, letting the bot finish posting before it exits).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, replace
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import CancelledError, TerminatedError, TimeoutError
from temporalio.service import RPCError, RPCStatusCode

from bot.claims import Claim
from bot.render import ENDED, Message, run_message, summary_message
from bot.runs import RunInfo
from bot.temporal import TemporalUnavailable
from bot.watch import watch_run
from workflows.model import FanoutResult, Progress, SlackMessage
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.lifecycle")
TRANSIENT = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.RESOURCE_EXHAUSTED,
             RPCStatusCode.ABORTED, RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN}

ADOPTED_SLOWDOWN = 3  # progress updates of adopted runs: another replica may be updating the same message

# Claims the right to post a run's summary (bot/claims.py); None when another bot has it.
ClaimReport = Callable[[str], Awaitable["Claim | None"]]

# Something posted into the run's thread after its summary (a CSV of every value, a timeline
# image): called with the Slack client, the run's workflow handle, the run and its result.
Attachment = Callable[[AsyncWebClient, WorkflowHandle[Any, Any], RunInfo, FanoutResult], Awaitable[None]]


@dataclass(frozen=True)
class ThreadFile:
    """A file the bot uploads into a run's thread after the summary; named by the run, so a bot
    taking over after a crash can tell which ones are there already."""

    filename: Callable[[RunInfo], str]
    upload: Attachment


class RunReporter:
    def __init__(
        self,
        slack: AsyncWebClient,
        *,
        progress_interval_s: float = 3.0,
        attachments: Sequence[ThreadFile] = (),
        claim: ClaimReport | None = None,
    ) -> None:
        self.slack = slack
        self.progress_interval_s = progress_interval_s
        self.attachments = list(attachments)
        self.claim = claim
        self._tasks: set[asyncio.Task[None]] = set()
        self._following: dict[str, asyncio.Task[None]] = {}
        self._adopted: set[str] = set()
        self._last_update: dict[str, float] = {}  # workflow id -> time.monotonic() its last chat.update ended

    async def announce(self, run: RunInfo) -> RunInfo:
        """Post the run's message (in the channel, or in a thread for a retry); returns the run
        with its message and thread known."""
        message = run_message(run, None)
        response = await self._post(run.channel_id, message, thread_ts=run.thread_ts or None)
        ts = str(response["ts"])
        return replace(run, message_ts=ts, thread_ts=run.thread_ts or ts)

    async def remember_message(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult]) -> None:
        """Tell the workflow where its message is (memo), for recovery by any replica."""
        try:
            await handle.signal(ParentWorkflow.attach_message,
                                SlackMessage(run.channel_id, run.message_ts, run.thread_ts))
        except Exception as err:
            if isinstance(err, RPCError) and err.status == RPCStatusCode.NOT_FOUND:
                # Finished before its message was posted: nothing left to record. This bot reports
                # it; after a crash, recovery finds the message by its metadata in the channel.
                log.info("%s finished before its message was recorded on it", run.workflow_id)
            else:  # the run goes on; only recovery after a crash would miss the thread
                log.exception("could not record the message of %s on the workflow", run.workflow_id)

    def is_following(self, workflow_id: str) -> bool:
        return workflow_id in self._following

    def follow(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult], *,
               adopted: bool = False) -> asyncio.Task[None]:
        """Follow the run to its summary. ``adopted``: found by recovery (started by another replica or
        before a restart); its progress updates are spaced wider, since another replica may update too."""
        if run.workflow_id in self._following:
            return self._following[run.workflow_id]
        if adopted:
            self._adopted.add(run.workflow_id)
        task = asyncio.create_task(self._follow(run, handle), name=f"follow {run.workflow_id}")
        self._tasks.add(task)
        self._following[run.workflow_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            self._following.pop(run.workflow_id, None)
            self._adopted.discard(run.workflow_id)

        task.add_done_callback(forget)
        return task

    async def _follow(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult]) -> None:
        try:
            result = await self._watch(run, handle)
            claim = await self._claim(run)
            if claim is None:
                log.info("run %s is reported by another bot", run.workflow_id)
                return
            # The claim is held (renewed) through the summary *and* its files, so a bot that dies
            # before the files are up leaves them to the next one, which posts no second summary.
            async with claim.held():
                summary_ts, files = await self._thread_state(run) if claim.reclaimed else (None, set())
                if summary_ts:  # an earlier claimant posted it, then died before saying so
                    log.info("run %s: summary already in the thread; finishing its files", run.workflow_id)
                else:
                    response = await self._post(run.channel_id, summary_message(run, result), thread_ts=run.thread_ts)
                    summary_ts = str(response.get("ts", ""))
                    log.info("run %s reported: %d/%d succeeded", run.workflow_id, result.success_count,
                             result.total_children)
                if result.status not in ENDED:
                    await self._attach(handle, run, result, skip=files)
            await claim.posted(summary_ts)
            # Always after the summary, and no sooner than the interval after the last progress update.
            await self._update(run, run_message(run, None, final=result))
        except asyncio.CancelledError:
            raise
        except Exception:  # Slack refused even after the client's retries: log it, never a second summary
            log.exception("reporting run %s failed", run.workflow_id)
        finally:
            self._last_update.pop(run.workflow_id, None)

    async def _attach(self, handle: WorkflowHandle[ParentWorkflow, FanoutResult], run: RunInfo,
                      result: FanoutResult, skip: set[str]) -> None:
        for file in self.attachments:
            name = file.filename(run)
            if name in skip:  # uploaded by an earlier claimant before it died
                continue
            # Files follow the summary; if one fails the summary still stands (never a second one).
            try:
                await file.upload(self.slack, handle, run, result)
            except Exception:
                log.exception("attachment %s for %s failed", name, run.workflow_id)

    async def _claim(self, run: RunInfo) -> Claim | _Unclaimed | None:
        if self.claim is None:
            return _Unclaimed()
        backoff = 1.0
        while True:
            try:
                return await self.claim(run.workflow_id)
            except (RPCError, TemporalUnavailable) as err:
                log.warning("claiming the report of %s: %s; retrying in %.0fs", run.workflow_id, err, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def find_run_message(self, run: RunInfo, oldest: float) -> str | None:
        """The ts of the run's message if it was posted (found by its metadata), for recovery when the bot
        that posted it died before recording it on the workflow."""
        try:
            if run.thread_ts:  # a retry's message is a reply in the original run's thread
                response = await self.slack.conversations_replies(channel=run.channel_id, ts=run.thread_ts,
                                                                  include_all_metadata=True, limit=200)
            else:
                response = await self.slack.conversations_history(channel=run.channel_id, oldest=str(oldest),
                                                                  include_all_metadata=True, limit=200)
        except SlackApiError as err:
            log.warning("cannot read %s to find the message of %s: %s", run.channel_id, run.workflow_id,
                        err.response.get("error"))
            return None
        return _find(response.get("messages", []) or [], "fanout_started", run.workflow_id)

    async def _thread_state(self, run: RunInfo) -> tuple[str | None, set[str]]:
        """This run's summary ts if one is already in its thread (message metadata), and the names of
        the files there: what an earlier claimant posted before it died."""
        if not run.thread_ts:
            return None, set()
        try:
            response = await self.slack.conversations_replies(channel=run.channel_id, ts=run.thread_ts,
                                                              include_all_metadata=True, limit=200)
        except SlackApiError as err:  # e.g. missing history scope: post; a duplicate beats a lost summary
            log.warning("cannot read the thread of %s: %s", run.workflow_id, err.response.get("error"))
            return None, set()
        messages: list[dict[str, Any]] = response.get("messages", []) or []
        files = {str(f.get("name")) for m in messages for f in (m.get("files") or [])}
        return _find(messages, "fanout_summary", run.workflow_id), files

    async def _watch(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult]) -> FanoutResult:
        """The run's result, updating its message meanwhile. Temporal being briefly unreachable is waited
        out (the run goes on without us); a run that ended without a result (terminated, timed out, failed)
        gets a stand-in result with the last progress seen, so the thread still says how it ended."""
        last: list[Progress] = []
        started = time.monotonic()

        async def on_progress(progress: Progress) -> None:
            # A query answers with the workflow's time at its last task: the bot's clock keeps elapsed moving.
            progress = replace(progress, elapsed_s=max(progress.elapsed_s, time.monotonic() - started))
            last[:] = [progress]
            await self._update(run, run_message(run, progress))

        backoff = 1.0
        while True:
            try:
                return await watch_run(handle, on_progress, interval_s=self.progress_interval_s)
            except WorkflowFailureError as err:
                log.warning("run %s ended without a result: %s", run.workflow_id, err.cause or err)
                return _ended(run, err, last[0] if last else None)
            except RPCError as err:
                if err.status not in TRANSIENT:
                    raise
                log.warning("watching %s: Temporal unavailable (%s); retrying in %.0fs", run.workflow_id, err, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> dict:
        kwargs: dict = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if message.metadata:
            kwargs["metadata"] = message.metadata
        response = await self.slack.chat_postMessage(**kwargs)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _update(self, run: RunInfo, message: Message) -> None:
        """Edit the run's message in place: at most one chat.update per run per progress interval,
        counted from the end of the previous one (so Slack sees them at least that far apart)."""
        last = self._last_update.get(run.workflow_id)
        interval = self.progress_interval_s * (ADOPTED_SLOWDOWN if run.workflow_id in self._adopted else 1)
        if last is not None:
            wait = last + interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        kwargs: dict = {"channel": run.channel_id, "ts": run.message_ts, "text": message.text,
                        "blocks": message.blocks}
        if message.metadata:
            kwargs["metadata"] = message.metadata
        try:
            await self.slack.chat_update(**kwargs)
        finally:
            self._last_update[run.workflow_id] = time.monotonic()

    async def drain(self, timeout_s: float = 30.0) -> None:
        """On shutdown: give the runs being followed up to ``timeout_s`` to finish and post their summaries,
        then stop following the rest (their runs go on in Temporal; `/fanout status` still reports them)."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
        if pending:
            log.warning("stopped following %d unfinished run(s): %s", len(pending),
                        ", ".join(sorted(t.get_name().removeprefix("follow ") for t in pending)))
            await asyncio.gather(*pending, return_exceptions=True)


def _find(messages: list[dict[str, Any]], event_type: str, workflow_id: str) -> str | None:
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and payload.get("workflow_id") == workflow_id:
            return str(message.get("ts"))
    return None


class _Unclaimed:
    """No claims (a reporter without Temporal claims, as in unit tests): always post."""

    reclaimed = False

    async def posted(self, summary_ts: str) -> None:
        return None

    def held(self) -> AbstractAsyncContextManager[None]:
        return nullcontext()


def _ended(run: RunInfo, err: WorkflowFailureError, progress: Progress | None) -> FanoutResult:
    """A stand-in result for a run that ended without one, from its last progress."""
    cause = err.cause
    status = ("terminated" if isinstance(cause, TerminatedError) else "timed_out" if isinstance(cause, TimeoutError)
              else "canceled" if isinstance(cause, CancelledError) else "failed")
    total = progress.total if progress else run.value_count
    succeeded, failed = (progress.succeeded, progress.failed) if progress else (0, 0)
    return FanoutResult(
        total_children=total, successful_results=[], failed_children=[], success_count=succeeded,
        failure_count=failed, success_rate=succeeded / total if total else 0.0,
        cancelled_count=total - succeeded - failed, status=status, sequential=run.sequential,
        batch_size=run.batch_size, wall_s=progress.elapsed_s if progress else 0.0, results_complete=False,
    )
