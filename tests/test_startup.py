"""Temporal away while the bot and ``worker.py`` start, with real processes (runtime.serving).

They keep trying, with backoff, for as long as Temporal cannot be reached: no exit, no traceback. Meanwhile
/healthz says the workers are ``waiting`` and a command gets the private outage answer within Slack's 3 s;
once Temporal is back, a run starts and reports with no restart. A Temporal that answers and refuses (a
namespace that does not exist, one without the search attributes) stops both with one line and exit 2.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, PostedMessage
from tests.conftest import SIGNING_SECRET, temporal_cli
from tests.entrypoints import (
    PYTHON,
    Service,
    child_env,
    dev_server_ports,
    free_port,
    http_get,
    run,
    start_dev_server,
)
from tests.processes import BotProcess, start_bot
from tests.tcp_proxy import Proxy

# bot.operations.answers: unreachable ("Temporal is unreachable right now ..."), before the command path ever
# connected; no_answer ("Temporal did not answer in time ..."), after it did.
OUTAGE_WORDS = ("temporal is unreachable right now", "temporal did not answer in time")


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def start_worker_process(temporal_address: str, queue: str, tmp_path: Path, **extra: str) -> Service:
    env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=queue, **extra)
    return await Service.start([PYTHON, "worker.py"], env, tmp_path / f"worker-{uuid.uuid4().hex[:6]}.log")


async def start_waiting_bot(temporal_address: str, queue: str, fake: FakeSlack, tmp_path: Path) -> BotProcess:
    return await start_bot(f"bot-{uuid.uuid4().hex[:6]}", temporal_address, queue, fake.base_url, tmp_path,
                           environment=f"start-{uuid.uuid4().hex[:6]}", wait_workers=False)


async def health(bot: BotProcess) -> dict[str, object]:
    _, body = await http_get(bot.url.replace("/slack/events", "/healthz"))
    return dict(json.loads(body))


async def command(bot: BotProcess, fake: FakeSlack, text: str, channel: str) -> tuple[str, float]:
    """Send ``text``; its ack's body and how long the ack took."""
    body = slash_command_body(text, channel_id=channel, response_url=fake.response_url(channel),
                              trigger_id=f"t-{uuid.uuid4().hex}")
    status, ack, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200
    return ack, elapsed


async def assert_waiting_and_answering(bot: BotProcess, worker: Service, fake: FakeSlack) -> None:
    """Both processes alive; the bot's workers waiting; a run gets the private outage answer within 3 s."""
    assert bot.proc.returncode is None and worker.proc.returncode is None, bot.output() + worker.output()
    assert (await health(bot))["workers"] == "waiting"
    channel = "C" + uuid.uuid4().hex[:9].upper()
    ack, elapsed = await command(bot, fake, "1 2", channel)
    assert ack == "" and elapsed < 3.0
    await fake.wait_for(lambda: any(r["key"] == channel for r in fake.responses), timeout=3.0 - elapsed)
    said = next(r for r in fake.responses if r["key"] == channel)
    assert said["response_type"] == "ephemeral" and any(w in json.dumps(said).lower() for w in OUTAGE_WORDS), said


async def assert_runs_and_reports(bot: BotProcess, worker: Service, fake: FakeSlack) -> None:
    """With no restart: the bot's workers run, and a run reports its summary."""
    for _ in range(300):
        if (await health(bot))["workers"] == "running":
            break
        await asyncio.sleep(0.1)
    assert (await health(bot))["workers"] == "running", bot.output()
    channel = "C" + uuid.uuid4().hex[:9].upper()
    ack, _ = await command(bot, fake, "1-4 --fail even", channel)
    assert ack == ""
    await fake.wait_for(lambda: bool(summaries(fake, channel)), timeout=30)
    payload = summaries(fake, channel)[0].metadata["event_payload"]  # type: ignore[index]
    assert (payload["success_count"], payload["failure_count"]) == (2, 2)


def assert_no_traceback(*services: Service) -> None:
    for service in services:
        assert "Traceback" not in service.output(), service.output()


async def test_temporal_gone_at_start_and_back_after_30_s(fake: FakeSlack, tmp_path: Path) -> None:
    ports, queue = dev_server_ports(), f"start-{uuid.uuid4().hex[:6]}"
    bot = await start_waiting_bot(ports.address, queue, fake, tmp_path)
    worker = await start_worker_process(ports.address, queue, tmp_path)
    try:
        await assert_waiting_and_answering(bot, worker, fake)
        await asyncio.sleep(30)  # Temporal stays away for 30 s: both keep trying
        await assert_waiting_and_answering(bot, worker, fake)
        env = await start_dev_server(ports)
        try:
            await worker.wait_for_output("worker listening on task queue", timeout_s=30)
            await assert_runs_and_reports(bot, worker, fake)
        finally:
            assert await bot.stop() == 0 and await worker.stop() == 0
            await env.shutdown()
    finally:
        bot.kill()
        worker.kill()
    assert_no_traceback(bot, worker)


async def test_temporal_gone_just_after_the_first_rpc(fake: FakeSlack, temporal_address: str,
                                                      tmp_path: Path) -> None:
    """Temporal goes away once each process's clients connected (Client.connect's GetSystemInfo answered), before
    the workers start: before runtime.serving, both exited with a traceback ("Worker validation failed:
    Namespace default was not found ... tcp connect error")."""
    host, port = temporal_address.rsplit(":", 1)
    queue = f"cut-{uuid.uuid4().hex[:6]}"
    to_worker, to_bot = await Proxy(host, int(port)).start(), await Proxy(host, int(port)).start()
    to_worker.go_away_after_connects(1)  # worker.py has one client
    to_bot.go_away_after_connects(2)  # the bot's command path, then its workers' own client
    worker = await start_worker_process(to_worker.address, queue, tmp_path)
    bot = await start_waiting_bot(to_bot.address, queue, fake, tmp_path)
    try:
        tried = "did not answer as they started"  # their workers' start failed, and is tried again
        for _ in range(300):  # ... and then connecting again failed too
            if all(tried in s.output() and "not reachable yet" in s.output().split(tried)[1] for s in (worker, bot)):
                break
            await asyncio.sleep(0.1)
        assert to_worker.away and to_bot.away and to_worker.refused and to_bot.refused
        assert tried in worker.output() and tried in bot.output(), bot.output() + worker.output()
        await assert_waiting_and_answering(bot, worker, fake)
        to_worker.come_back()
        to_bot.come_back()
        await assert_runs_and_reports(bot, worker, fake)
        assert await bot.stop() == 0 and await worker.stop() == 0
    finally:
        bot.kill()
        worker.kill()
        await to_worker.stop()
        await to_bot.stop()
    assert_no_traceback(bot, worker)


@pytest.fixture(scope="module")
async def bare_server() -> AsyncIterator[str]:
    """A dev server with none of /fanout's search attributes."""
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal_cli(), ui=False,
                                                dev_server_log_level="error",
                                                dev_server_startup_timeout=timedelta(seconds=20))
    try:
        yield env.client.service_client.config.target_host
    finally:
        await env.shutdown()


def service_command(which: str) -> list[str]:
    return [PYTHON, "worker.py"] if which == "worker" else [PYTHON, "-m", "bot"]


def service_env(which: str, fake: FakeSlack, temporal_address: str, **values: str) -> dict[str, str]:
    base = {"TEMPORAL_ADDRESS": temporal_address, "FANOUT_TASK_QUEUE": f"refused-{uuid.uuid4().hex[:6]}"}
    if which == "bot":
        base |= {"SLACK_BOT_TOKEN": fake.bot_token, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                 "SLACK_API_URL": fake.base_url, "HOST": "127.0.0.1", "PORT": str(free_port())}
    return child_env(**base, **values)


@pytest.mark.parametrize("which", ["worker", "bot"])
async def test_a_namespace_that_does_not_exist_is_one_line_and_exit_2(fake: FakeSlack, temporal_address: str,
                                                                      which: str) -> None:
    env = service_env(which, fake, temporal_address, TEMPORAL_NAMESPACE="no-such-namespace")
    code, out, err = await run(service_command(which), env, timeout_s=40)
    assert code == 2 and "Traceback" not in err, out + err
    expected = f"{which}: Temporal namespace 'no-such-namespace' does not exist (TEMPORAL_NAMESPACE)"
    assert err.splitlines()[-1] == expected


@pytest.mark.parametrize("which", ["worker", "bot"])
async def test_a_namespace_without_the_search_attributes_is_one_line_and_exit_2(fake: FakeSlack, bare_server: str,
                                                                                which: str) -> None:
    code, out, err = await run(service_command(which), service_env(which, fake, bare_server), timeout_s=40)
    assert code == 2 and "Traceback" not in err, out + err
    said = err.splitlines()[-1]
    assert said.startswith(f"{which}: Temporal namespace 'default' lacks the search attributes FanoutTeam"), err
    assert "temporal operator search-attribute create" in said
