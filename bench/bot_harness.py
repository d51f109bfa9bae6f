"""The real Bolt app (HTTP mode) on a loopback port, talking to the loopback fake Slack Web API —
the bot's role in the benchmark, in this process."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.app import build_app
from bot.config import Settings
from bot.devslack import FakeSlack
from bot.slack_requests import post_signed, slash_command_body
from bot.temporal import TemporalGateway

SECRET = "bench-signing-secret"
TOKEN = "xoxb-bench"
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
    url: str
    fake: FakeSlackForBench
    app: Any
    runner: web.AppRunner
    secret: str = SECRET

    @classmethod
    async def start(cls, temporal_address: str, queue: str) -> BotHarness:
        fake = FakeSlackForBench(bot_token=TOKEN)
        await fake.start()
        settings = Settings(
            slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_app_token="", slack_api_url=fake.base_url,
            port=0, host="127.0.0.1", task_queue=queue, temporal_ui_url="http://localhost:8233",
            temporal_namespace="default", max_values=1_000_000, allowed_channels=frozenset(),
            allowed_users=frozenset(), progress_interval_s=3.0, log_level="WARNING",
        )
        app = build_app(settings, TemporalGateway(config={"target_host": temporal_address}))
        runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        return cls(f"http://127.0.0.1:{port}/slack/events", fake, app, runner)

    async def stop(self) -> None:
        reporter = getattr(self.app, "fanout_state", {}).get("reporter")
        if reporter is not None:
            await reporter.drain(timeout_s=30)
        await self.runner.cleanup()
        await self.fake.stop()

    async def command(self, text: str, channel: str) -> int:
        body = slash_command_body(text, user_id="UBENCH", channel_id=channel, response_url=self.fake.response_url(),
                                  trigger_id=f"bench-{uuid.uuid4().hex}")
        status, _, _ = await post_signed(self.url, body, self.secret)
        return status

    async def _until(self, find: Any, what: str) -> Any:
        deadline = time.monotonic() + WAIT_S
        while (found := find()) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bench: no {what} after {WAIT_S:.0f}s\n{self.fake.dump()}")
            await asyncio.sleep(0.05)
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
