"""Record one history of each workflow shape, for the replay test (tests/test_replay.py).

    .venv/bin/python -m tests.histories.capture

Run it when a workflow change is *meant* to change histories (with `workflow.patched()` guarding
the old path), and commit the new files next to the old ones: old histories must keep replaying,
so existing files are kept (``--overwrite`` replaces them).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from devkit.temporal_server import MATCHING
from runtime import search_attributes
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS
from workflows.model import FanoutRequest, ValueRange
from workflows.parent import ParentWorkflow

HERE = Path(__file__).resolve().parent
QUEUE = "capture"


async def wait_progress(handle: WorkflowHandle, predicate) -> None:  # type: ignore[type-arg,no-untyped-def]
    for _ in range(600):
        try:
            if predicate(await handle.query(ParentWorkflow.progress)):
                return
        except RPCError as err:  # not started yet (a reporter starts it)
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
        await asyncio.sleep(0.05)
    raise TimeoutError(handle.id)


async def shapes(client: Client) -> dict[str, WorkflowHandle]:  # type: ignore[type-arg]
    start = client.start_workflow
    handles: dict[str, WorkflowHandle] = {}  # type: ignore[type-arg]
    # Batches of up to 10,000 (patch "batches-of-10000": a batch of 10,000; 26 of them, so 2 shards, the
    # first of 25 batches) and batches that tell their parent their progress (patch "batch-progress": one
    # working in 3 steps of 1.5 s, one cancelled between its steps, one reporting after each retry round).
    # Started first: their delays overlap the shapes below.
    steps = FanoutRequest([ValueRange(1, 3000)], batch_size=3000, delay_min_s=4.5, delay_max_s=4.5)
    handles["batched-steps"] = await start(ParentWorkflow.run, steps, id="batched-steps", task_queue=QUEUE)
    between = await start(ParentWorkflow.run, steps, id="cancelled-steps", task_queue=QUEUE)
    handles["batched-retries"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(1, 40)], fail="even", batch_size=10, max_attempts=3),
        id="batched-retries", task_queue=QUEUE)
    handles["batched-10000"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(1, 10_000)], fail="mod:7", batch_size=10_000),
        id="batched-10000", task_queue=QUEUE)
    handles["sharded-25"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(1, 260_000)], fail="none", batch_size=10_000),
        id="sharded-25", task_queue=QUEUE)
    await wait_progress(between, lambda p: p.finished > 0)  # its first step done, the next 1.5 s away
    await between.signal(ParentWorkflow.request_cancel, "U1")
    handles["cancelled-steps"] = between
    handles["lab-list"] = await start(ParentWorkflow.run, [1, 2, 3, 4, 5], id="lab-list", task_queue=QUEUE)
    # No more children than the start window: no "bounded-child-starts" marker (plugin-values, recorded before,
    # has one); its failed children carry no details (a first attempt's).
    handles["values-unmarked"] = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 5)]),
                                             id="values-unmarked", task_queue=QUEUE)
    handles["failures-retries"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(1, 6)], fail="rate:0.5", max_attempts=3),
        id="failures-retries", task_queue=QUEUE)
    handles["sequential-delay"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(1, 3)], sequential=True, delay_min_s=0.1, delay_max_s=0.3,
                                          child_type="square"),
        id="sequential-delay", task_queue=QUEUE)
    cancelled = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 4)], fail="none", delay_min_s=30,
                                                             delay_max_s=30), id="cancelled", task_queue=QUEUE)
    await wait_progress(cancelled, lambda p: p.running == 4)
    await cancelled.signal(ParentWorkflow.request_cancel, "U1")
    handles["cancelled-by-signal"] = cancelled  # the file's name: "cancelled" was a shape from before the 0.2.0 floor
    # Cancelled while child starts are still in flight (the path patched "cancel-started-children-only").
    starting = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 100)], fail="none", delay_min_s=30,
                                                            delay_max_s=30), id="cancelled-starting", task_queue=QUEUE)
    await wait_progress(starting, lambda p: p.running == 100)
    await starting.cancel()
    handles["cancelled-starting"] = starting
    # Child starts in flight bounded (patched "bounded-child-starts"): more values than the start window,
    # run to the end, and cancelled while starts are in flight (the values not yet dispatched never start).
    handles["starts-bounded"] = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 80)], fail="mod:5"),
                                            id="starts-bounded", task_queue=QUEUE)
    bounded = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 200)], fail="none", delay_min_s=30,
                                                           delay_max_s=30), id="cancelled-starts-bounded",
                          task_queue=QUEUE)
    await wait_progress(bounded, lambda p: p.running >= 1)
    await bounded.cancel()
    handles["cancelled-starts-bounded"] = bounded
    handles["batched"] = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 2500)], fail="mod:7"),
                                     id="batched", task_queue=QUEUE)
    handles["sharded"] = await start(ParentWorkflow.run, FanoutRequest([ValueRange(1, 30000)], batch_size=100),
                                     id="sharded", task_queue=QUEUE)
    # A team's child type (the example plugin's write-file activity), per value and in batches.
    from runtime.plugins import load_plugins, plugin_of

    [writer] = [c for c in load_plugins() if c.name == "write-file"]
    plugin = plugin_of(writer, QUEUE)
    handles["plugin-values"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(-1, 3)], fail="none", max_attempts=2, child_type="write-file",
                                          plugin=plugin), id="plugin-values", task_queue=QUEUE)
    handles["plugin-batched"] = await start(
        ParentWorkflow.run, FanoutRequest([ValueRange(-1, 4)], fail="none", batch_size=3, child_type="write-file",
                                          plugin=plugin), id="plugin-batched", task_queue=QUEUE)
    return handles


CHILDREN = {
    "child-failed": "lab-list-c1",
    "child-failed-first-attempt": "values-unmarked-c1",
    "child-square-delay": "sequential-delay-c0",
    "child-cancelled": "cancelled-c0",
    "batch": "batched-b0",
    "shard": "sharded-s0",
    "plugin-child-failed": "plugin-values-c0",
    "plugin-batch": "plugin-batched-b0",
    "batch-10000": "batched-10000-b0",
    "shard-25": "sharded-25-s0",
    "batch-steps": "batched-steps-b0",
    "batch-cancelled-steps": "cancelled-steps-b0",
    "batch-retries": "batched-retries-b0",
}


def wanted(name: str) -> bool:
    """Histories recorded by older code must keep replaying: existing files are kept."""
    return not (HERE / f"{name}.json").exists() or "--overwrite" in sys.argv


async def save(client: Client, name: str, workflow_id: str) -> None:
    path = HERE / f"{name}.json"
    if not wanted(name):
        return
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    path.write_text(history.to_json())
    print(f"{name}: {len(history.events)} events")


async def bot_shapes(env: WorkflowEnvironment) -> None:
    """The bot's workflows, through the real bot (its Bolt app and workers) and a fake Slack: a run reported
    to its end (with progress edits and files), one in a channel the bot is not in, one cancelled through the
    reporter's update, one terminated in Temporal, and a user's quota."""
    from bot.operations.start import Invocation, run_id_for
    from devkit.fake_slack.web_api import FakeSlack, SlackLimits
    from tests.conftest import serve_bot, settings_for_tests

    address = env.client.service_client.config.target_host
    settings = settings_for_tests("", QUEUE, environment="capture", max_runs_per_user=10)

    def run_id(trigger: str, channel: str = "C1") -> str:
        return run_id_for(Invocation("U1", channel, "", trigger_id=trigger, team_id="T1"))

    async with FakeSlack(limits=SlackLimits.off()) as fake:
        fake.kick("CKICKED")
        async with serve_bot(replace(settings, slack_api_url=fake.base_url), fake, address) as bot:
            await bot.command("1-60 --delay 0.5-2.5", trigger_id="capture-reported")
            await bot.command("1 2", channel_id="CKICKED", trigger_id="capture-unpostable")
            await bot.command("1-3 --delay 30", trigger_id="capture-cancelled")
            await bot.command("1-3 --delay 30", trigger_id="capture-terminated")
            # Patches "release-at-summary" and "files-wanted": the cap released once the summary is out, and only
            # the files the thread wants (a small run: none; 12 children: the timeline). Posts carry fairness keys.
            await bot.command("1 2 3", trigger_id="capture-small")
            await bot.command("1-12", trigger_id="capture-pictured")
            cancelled, terminated = run_id("capture-cancelled"), run_id("capture-terminated")
            for workflow_id in (cancelled, terminated):
                await wait_progress(env.client.get_workflow_handle(workflow_id), lambda p: p.running == 3)
            await bot.command(f"cancel {cancelled}", trigger_id="capture-cancel")
            await env.client.get_workflow_handle(terminated).terminate("capture")
            names = {"reporter": run_id("capture-reported"), "reporter-unpostable": run_id("capture-unpostable",
                                                                                              "CKICKED"),
                     "reporter-cancelled": cancelled, "reporter-terminated": terminated,
                     "reporter-small-run": run_id("capture-small"), "reporter-pictured": run_id("capture-pictured")}
            for name, workflow_id in names.items():
                if not wanted(name):
                    continue
                await wait_for_result(env.client, f"{workflow_id}-slack")
                await save(env.client, name, f"{workflow_id}-slack")
            from bot.home.daily_stats import stats_id, utc_day
            from bot.home.tab import home_id
            from bot.quota import quota_id
            from devkit.fake_slack.requests import app_home_opened, post_signed
            from tests.conftest import SIGNING_SECRET

            queue = bot.bot.workers.workflow_queue  # type: ignore[attr-defined]
            await save(env.client, "user-runs", quota_id(queue, "U1"))
            # The Home tab (patch "home-and-stats"): opened, then redrawn when a run of theirs finishes.
            await post_signed(bot.url, app_home_opened("U1"), SIGNING_SECRET)
            await wait_for_publishes(fake, "U1", 1)
            await bot.command("1 2", trigger_id="capture-home")
            home_run = run_id("capture-home")
            await wait_for_result(env.client, f"{home_run}-slack")
            await wait_for_publishes(fake, "U1", 2)
            await save(env.client, "reporter-home-and-stats", f"{home_run}-slack")
            await save(env.client, "home", home_id(queue, "U1"))
            await save(env.client, "daily-stats", stats_id(queue, utc_day(datetime.now(UTC))))
            await waiting_shapes(env.client, bot)


async def waiting_shapes(client: Client, bot: Any) -> None:
    """Reporters that wait: approved, rejected, expired and withdrawn approvals, a schedule's firing, and a
    Workflow Builder step (completed with its outputs)."""
    from bot.runs.info import reporter_id
    from devkit.fake_slack.requests import function_executed, post_signed
    from tests.conftest import SIGNING_SECRET
    from tests.slack_asks import click, command, send, text_of

    async def run_in(channel: str) -> str:
        for _ in range(300):
            started = [m for m in bot.fake.messages(channel)
                       if (m.metadata or {}).get("event_type") == "fanout_started"]
            if started:
                return str(started[0].metadata["event_payload"]["workflow_id"])
            await asyncio.sleep(0.05)
        raise TimeoutError(channel)

    async def waiting(run_id: str) -> None:
        for _ in range(300):
            desc = await client.get_workflow_handle(reporter_id(run_id)).describe()
            if desc.typed_search_attributes.get(search_attributes.STATUS) == "waiting":
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(run_id)

    runs: dict[str, str] = {}
    for name, ending in (("approved", "fanout_approve"), ("rejected", "fanout_reject"), ("expired", ""),
                         ("withdrawn", "fanout_cancel")):
        channel = f"CWAIT{name.upper()}"
        await send(bot, "1-3 --approve-timeout 10s", channel)
        runs[name] = run_id = await run_in(channel)
        await waiting(run_id)
        if ending:
            await click(bot, ending, run_id, channel, user="U1" if name == "withdrawn" else "U2")
    made = await command(bot, "schedule every 1h 1 2", "CSCHEDULE")
    found = re.search(r"fanout-sch-[0-9a-f]{10}", text_of(made))
    assert found, made
    schedule_id = found.group(0)
    await command(bot, f"trigger {schedule_id}", "CSCHEDULE")
    runs["scheduled"] = await run_in("CSCHEDULE")
    execution = "FxCAPTURE01"
    await post_signed(bot.url, function_executed("fanout_run", {"values": "1-3", "channel_id": "CSTEP"},
                                                 execution_id=execution,
                                                 bot_access_token=bot.fake.issue_workflow_token(execution)),
                      SIGNING_SECRET)
    runs["step"] = await run_in("CSTEP")
    for name, run_id in runs.items():
        await wait_for_result(client, reporter_id(run_id))
        await save(client, f"reporter-{name}", reporter_id(run_id))
    await client.get_schedule_handle(schedule_id).delete()


async def wait_for_result(client: Client, workflow_id: str) -> None:
    """The workflow's result, once it has been started (a command's start follows its ack)."""
    for _ in range(200):
        try:
            await client.get_workflow_handle(workflow_id).result()
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(0.05)
    raise TimeoutError(workflow_id)


async def wait_for_publishes(fake: object, user: str, count: int) -> None:
    for _ in range(200):
        if fake.home_publishes(user) >= count:  # type: ignore[attr-defined]
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"Home of {user} published fewer than {count} times")


async def main() -> int:
    temporal = shutil.which("temporal") or shutil.which("temporal", path=str(Path(sys.executable).parent))
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=temporal, ui=False,
                                                search_attributes=list(search_attributes.ALL),
                                                dev_server_extra_args=MATCHING)
    from runtime.plugins import load_plugins
    from runtime.worker import plugin_workers

    os.environ.setdefault("FANOUT_EXAMPLE_DIR", tempfile.mkdtemp(prefix="capture-"))
    try:
        async with contextlib.AsyncExitStack() as running:
            for worker in [Worker(env.client, task_queue=QUEUE, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER),
                           *plugin_workers(env.client, QUEUE, load_plugins())]:
                await running.enter_async_context(worker)
            for name, handle in (await shapes(env.client)).items():
                await handle.result()
                await save(env.client, name, handle.id)
            # Children of every type: a failed ChildWorkflow, a SquareChildWorkflow with a timer,
            # a cancelled child, a BatchWorkflow, and a shard (a ParentWorkflow started by the root).
            for name, workflow_id in CHILDREN.items():
                await save(env.client, name, workflow_id)
            await bot_shapes(env)
    finally:
        await env.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
