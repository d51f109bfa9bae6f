"""A team at once, test-sized (``make bench`` runs the workshop: 30 runs of 5-45 s in 3 channels): bot
replicas as real processes, a fake Slack with Slack's own rate tiers, a dev server of the test's own whose
metrics count every RPC. Also: what an idle bot costs, and that cost is flat in replicas."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS
from tests.conftest import SIGNING_SECRET
from tests.entrypoints import DevServerPorts, http_get, start_dev_server_on
from tests.processes import start_bot, start_worker
from tests.server_metrics import delta, settled_requests
from tests.team_load import TeamLoad, run_team_load


@pytest.fixture(scope="module")
async def server() -> AsyncIterator[tuple[WorkflowEnvironment, DevServerPorts, str]]:
    """A dev server of this module's own (its RPC counts are ours alone) and a fan-out worker on it."""
    env, ports = await start_dev_server_on()
    queue = f"team-{uuid.uuid4().hex[:6]}"
    async with Worker(env.client, task_queue=queue, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER,
                      max_concurrent_workflow_tasks=100):
        yield env, ports, queue
    await env.shutdown()


async def test_a_team_in_three_channels_through_two_replicas_stays_inside_slacks_tiers(
        server: tuple[WorkflowEnvironment, DevServerPorts, str], tmp_path: Path) -> None:
    env, ports, queue = server
    async with FakeSlack(limits=SlackLimits()) as fake:  # Slack's own tiers, per workspace
        figures = await run_team_load(TeamLoad(runs=30, channels=3, replicas=2, spread_s=10,
                                               text="1-4 --delay 2-12 --fail none"),
                                      fake, env.client, temporal_address=ports.address, metrics_port=ports.metrics,
                                      task_queue=queue, tmp_path=tmp_path)
    assert figures.run_messages == [1] * 30 and figures.summaries == [1] * 30
    assert figures.final_states == 30  # no run message left showing a live run with a live Cancel button
    assert figures.update_max_per_minute <= 50, figures
    assert figures.update_429s <= 5, figures
    assert not figures.summaries_late, figures
    assert figures.final_edit_lag_max_s <= 60, figures
    assert figures.run_message_lag_max_s <= 3.0, figures


async def test_slack_calls_and_temporal_rpcs_do_not_grow_with_replicas(
        server: tuple[WorkflowEnvironment, DevServerPorts, str], tmp_path: Path) -> None:
    env, ports, queue = server
    figures = []
    for replicas in (1, 3):
        (tmp_path / str(replicas)).mkdir()
        async with FakeSlack(limits=SlackLimits()) as fake:
            figures.append(await run_team_load(
                # A fixed delay: random ones differ between the two loads' runs, and so do their progress edits.
                TeamLoad(runs=8, channels=2, replicas=replicas, spread_s=3, text="1-3 --delay 4 --fail none"),
                fake, env.client, temporal_address=ports.address, metrics_port=ports.metrics, task_queue=queue,
                tmp_path=tmp_path / str(replicas)))
    one, three = figures
    print(f"\nSlack calls: {one.slack_attempts} (1 replica) vs {three.slack_attempts} (3)\n"
          f"Temporal RPCs: {one.rpcs}\n  vs {three.rpcs}\nlong polls: {one.long_polls}\n  vs {three.long_polls}")
    assert abs(three.slack_attempts - one.slack_attempts) <= 0.05 * one.slack_attempts + 1, (one, three)
    # Every method but the long polls (they grow with the pollers) and the SDK's worker heartbeats of this
    # test's own fan-out worker (once a minute; the bot sends none: see the idle test).
    methods = (set(one.rpcs) | set(three.rpcs)) - {"RecordWorkerHeartbeat"}
    for method in methods:
        a, b = one.rpcs.get(method, 0), three.rpcs.get(method, 0)
        assert abs(b - a) <= 0.05 * max(a, b) + 2, (method, one.rpcs, three.rpcs)


async def test_an_idle_bot_makes_no_periodic_temporal_calls(tmp_path: Path) -> None:
    # A dev server of its own, where a worker process runs a few runs and is then stopped: from then on the
    # bot is the server's only client.
    env, ports = await start_dev_server_on()
    queue = f"idle-{uuid.uuid4().hex[:6]}"
    try:
        async with FakeSlack(limits=SlackLimits.scaled(20)) as fake:
            worker = await start_worker(ports.address, queue, tmp_path, "idle-worker")
            bot = await start_bot("idle-bot", ports.address, queue, fake.base_url, tmp_path,
                                  environment=f"idle-{uuid.uuid4().hex[:6]}")
            try:
                # Finished runs in the namespace (an earlier design scanned the last day's every 15 s).
                for _ in range(5):
                    body = slash_command_body("1 2", channel_id="C" + uuid.uuid4().hex[:9].upper(),
                                              response_url=fake.response_url())
                    assert (await post_signed(bot.url, body, SIGNING_SECRET))[0] == 200
                await fake.wait_for(lambda: len(summaries(fake)) == 5, timeout=30)
                await _all_closed(env.client)
                assert await worker.stop() == 0
                before = await settled_requests(ports.metrics)
                started = time.monotonic()
                await asyncio.sleep(20)
                after = await settled_requests(ports.metrics)
                calls, _ = delta(before, after)  # long polls count when they end (after up to ~70 s): left out
                assert calls == {}, f"{calls} in {time.monotonic() - started:.0f} s idle"
                status, body = await http_get(bot.url.replace("/slack/events", "/healthz"))
                assert status == 200 and '"workers": "running"' in body  # polling all along
            finally:
                worker.kill()
                assert await bot.stop() == 0
    finally:
        await env.shutdown()


def summaries(fake: FakeSlack) -> list[object]:
    return [m for m in fake.messages() if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def _all_closed(client: Client) -> None:
    """Every run's workflows closed (reporters finish with their files, after their summary). The day's
    statistics workflow stays open until the day ends, idle: one timer to the day's end, nothing that ticks."""
    query = "ExecutionStatus = 'Running' AND WorkflowType != 'DailyStatsWorkflow'"
    for _ in range(100):
        running = [wf async for wf in client.list_workflows(query)]
        if not running:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"still running: {[wf.id for wf in running]}")
