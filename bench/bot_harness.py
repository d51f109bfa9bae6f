"""The real bot as its own process (``python -m bot``, HTTP mode: signed slash commands to its Bolt app,
its Temporal workers reporting), talking to the loopback fake Slack Web API, which runs in the benchmark's
process: so the bot's memory and CPU are the bot's alone.

Slack's own rate tiers on the fake (devkit.fake_slack.limits.SlackLimits()) and the bot's default budgets.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from tests.conftest import SIGNING_SECRET
from tests.processes import BotProcess, start_bot

WAIT_S = 600.0


class FakeSlackForBench(FakeSlack):
    """FakeSlack that can forget uploaded files between runs (it keeps every upload by default)."""

    def drop_file_contents(self) -> None:
        """Forget the uploaded bytes (a 1M-value CSV is ~40 MB), keeping every message and record."""
        for f in self.files:
            f["content"] = b""
        for upload in self._uploads.values():
            upload["content"] = None


@dataclass
class BotHarness:
    fake: FakeSlackForBench
    bot: BotProcess
    secret: str = SIGNING_SECRET

    @property
    def url(self) -> str:
        return self.bot.url

    @property
    def pid(self) -> int:
        return self.bot.proc.pid

    @classmethod
    async def start(cls, temporal_address: str, queue: str, logs: Path, *, progress_interval_s: float = 3.0,
                    limits: SlackLimits | None = None) -> BotHarness:
        fake = FakeSlackForBench(limits=limits or SlackLimits())
        await fake.start()
        logs.mkdir(parents=True, exist_ok=True)
        bot = await start_bot("bench-bot", temporal_address, queue, fake.base_url, logs,
                              environment=f"bench-{uuid.uuid4().hex[:6]}", scale=1,
                              FANOUT_PROGRESS_INTERVAL=str(progress_interval_s))
        return cls(fake, bot)

    async def stop(self) -> None:
        try:
            await self.bot.stop(timeout_s=30)
        finally:
            await self.fake.stop()

    async def command(self, text: str, channel: str, user: str = "UBENCH") -> int:
        body = slash_command_body(text, user_id=user, channel_id=channel, response_url=self.fake.response_url(),
                                  trigger_id=f"bench-{uuid.uuid4().hex}")
        status, _, _ = await post_signed(self.url, body, self.secret)
        return status

    async def _until(self, find: Any, what: str) -> Any:
        deadline = time.monotonic() + WAIT_S
        while (found := find()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench: no {what} after {WAIT_S:.0f}s\n{self.fake.dump()}")
            await asyncio.sleep(0.02)
        return found

    async def run_id_in(self, channel: str) -> str:
        def find() -> str | None:
            for m in self.fake.messages(channel):
                payload = (m.metadata or {}).get("event_payload") or {}
                if m.thread_ts is None and payload.get("workflow_id"):
                    return str(payload["workflow_id"])
            return None
        return str(await self._until(find, f"run message in {channel}"))

    async def summary_in(self, channel: str) -> None:
        def find() -> bool | None:
            return any((m.metadata or {}).get("event_type") == "fanout_summary"
                       for m in self.fake.messages(channel)) or None
        await self._until(find, f"summary in {channel}")

    async def summaries_in(self, channel: str, count: int) -> None:
        def find() -> bool | None:
            summaries = [m for m in self.fake.messages(channel)
                         if (m.metadata or {}).get("event_type") == "fanout_summary"]
            return True if len(summaries) >= count else None
        await self._until(find, f"{count} summaries in {channel}")

    async def file_in(self, channel: str, filename: str) -> bytes:
        def find() -> bytes | None:
            return next((f["content"] for f in self.fake.files
                         if f["channel_id"] == channel and f["filename"] == filename), None)
        return bytes(await self._until(find, f"{filename} in {channel}"))
