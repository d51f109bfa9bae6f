"""A run's life in Slack: its message, in-place progress, and exactly one threaded summary.

Each run is watched by one task held here (so it is not garbage-collected and can be
awaited on shutdown, letting the bot finish posting before it exits).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import WorkflowHandle

from bot.render import Message, run_message, summary_message
from bot.runs import RunInfo
from bot.watch import watch_run
from workflows.model import FanoutResult, Progress, SlackMessage
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.lifecycle")

# Something posted into the run's thread after its summary (a CSV of every value, a timeline
# image): called with the Slack client, the run's workflow handle, the run and its result.
Attachment = Callable[[AsyncWebClient, WorkflowHandle[Any, Any], RunInfo, FanoutResult], Awaitable[None]]


class RunReporter:
    def __init__(
        self,
        slack: AsyncWebClient,
        *,
        progress_interval_s: float = 3.0,
        attachments: Sequence[Attachment] = (),
    ) -> None:
        self.slack = slack
        self.progress_interval_s = progress_interval_s
        self.attachments = list(attachments)
        self._tasks: set[asyncio.Task[None]] = set()

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
        except Exception:  # the run goes on; only recovery after a crash would miss the thread
            log.exception("could not record the message of %s on the workflow", run.workflow_id)

    def follow(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult]) -> asyncio.Task[None]:
        task = asyncio.create_task(self._follow(run, handle), name=f"follow {run.workflow_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _follow(self, run: RunInfo, handle: WorkflowHandle[ParentWorkflow, FanoutResult]) -> None:
        async def on_progress(progress: Progress) -> None:
            await self._update(run, run_message(run, progress))

        try:
            result = await watch_run(handle, on_progress, interval_s=self.progress_interval_s)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.exception("run %s did not produce a result", run.workflow_id)
            await self._post(
                run.channel_id,
                Message(text=f"Run `{run.workflow_id}` ended without a result: {type(err).__name__}", blocks=[]),
                thread_ts=run.thread_ts,
            )
            return
        await self._post(run.channel_id, summary_message(run, result), thread_ts=run.thread_ts)
        log.info("run %s reported: %d/%d succeeded", run.workflow_id, result.success_count, result.total_children)
        for attach in self.attachments:
            # Files follow the summary; if one fails the summary still stands (never a second one).
            try:
                await attach(self.slack, handle, run, result)
            except Exception:
                log.exception("attachment %s for %s failed", getattr(attach, "__name__", attach), run.workflow_id)
        try:
            await self._update(run, run_message(run, None, final=result))
        except Exception:
            log.exception("final update of %s failed", run.workflow_id)

    async def _post(self, channel: str, message: Message, *, thread_ts: str | None = None) -> dict:
        kwargs: dict = {"channel": channel, "text": message.text, "blocks": message.blocks}
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        if message.metadata:
            kwargs["metadata"] = message.metadata
        response = await self.slack.chat_postMessage(**kwargs)
        return dict(response.data) if isinstance(response.data, dict) else {}

    async def _update(self, run: RunInfo, message: Message) -> None:
        kwargs: dict = {"channel": run.channel_id, "ts": run.message_ts, "text": message.text,
                        "blocks": message.blocks}
        if message.metadata:
            kwargs["metadata"] = message.metadata
        await self.slack.chat_update(**kwargs)

    async def drain(self, timeout_s: float = 30.0) -> None:
        """On shutdown: let in-flight summaries post (bounded), then stop watching."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in pending:
            task.cancel()
