"""A team's use of the bot, measured (figures, no assertions): the workshop, cost in replicas, idle cost,
and the bot down while runs finish. Each section on a fresh dev server of its own (its RPC counts are the
section's alone), one ``python worker.py``, bot replicas as real ``python -m bot`` processes, and a fake
Slack with Slack's own rate tiers in this process (tests/team_load.py does the load).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import Client

from bench.infra import RESULTS, Stack, wait_for_poller
from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from tests.conftest import SIGNING_SECRET
from tests.entrypoints import http_get
from tests.processes import start_bot
from tests.server_metrics import delta, settled_requests
from tests.team_load import TeamFigures, TeamLoad, is_final, run_team_load, tagged

WORKSHOP = TeamLoad(runs=30, channels=3, replicas=2, spread_s=10, text="1-8 --delay 5-45 --fail none")
SMALL = TeamLoad(runs=10, channels=2, replicas=1, spread_s=3, text="1-3 --delay 1-6 --fail none")
QUICK_WORKSHOP = TeamLoad(runs=10, channels=3, replicas=2, spread_s=5, text="1-4 --delay 2-10 --fail none")
QUICK_SMALL = TeamLoad(runs=5, channels=2, replicas=1, spread_s=2, text="1-3 --delay 1-3 --fail none")


@dataclass
class Team:
    load: TeamLoad
    figures: TeamFigures
    attempts_by_method: dict[str, int]
    limited_by_method: dict[str, int]


async def _fanout_stack(name: str) -> tuple[Stack, Client, str]:
    stack = Stack()
    client = await stack.start_server(name)
    queue = f"team-{uuid.uuid4().hex[:6]}"
    stack.start_worker("worker", ["worker.py"], queue)
    await wait_for_poller(client, queue)
    return stack, client, queue


async def team_load(load: TeamLoad, name: str) -> Team:
    stack, client, queue = await _fanout_stack(name)
    try:
        async with FakeSlack(limits=SlackLimits()) as fake:
            figures = await run_team_load(load, fake, client, temporal_address=stack.address,
                                          metrics_port=stack.metrics_port, task_queue=queue,
                                          tmp_path=_logs(name))
            attempts = Counter(a.method for a in fake.attempts)
            limited = Counter(a.method for a in fake.attempts if a.status == 429)
        return Team(load, figures, dict(sorted(attempts.items())), dict(sorted(limited.items())))
    finally:
        stack.stop()


async def replicas(load: TeamLoad, counts: tuple[int, ...] = (1, 3)) -> list[Team]:
    """The same load with each number of replicas, each on a fresh dev server (so the RPCs are comparable)."""
    out = []
    for n in counts:
        out.append(await team_load(TeamLoad(load.runs, load.channels, n, load.spread_s, load.text),
                                   f"temporal-replicas-{n}"))
    return out


@dataclass
class Idle:
    finished_runs: int
    idle_s: float
    calls: dict[str, int]  # Temporal RPCs by method beyond long polls, while idle
    health: str
    setup_s: float = 0.0
    still_open: dict[str, int] = field(default_factory=dict)  # the bot's long-lived workflows, idle


async def idle_cost(finished_runs: int, idle_s: float) -> Idle:
    """``finished_runs`` finished runs in the namespace (plain ParentWorkflows of one value, started from a
    client, plus five through the bot's reporters); the worker is stopped; one bot replica idles."""
    stack, client, queue = await _fanout_stack("temporal-idle")
    worker = stack.procs[-1]
    setup = time.monotonic()
    try:
        async with FakeSlack(limits=SlackLimits()) as fake:
            bot = await start_bot("idle-bot", stack.address, queue, fake.base_url, _logs("idle"),
                                  environment=f"idle-{uuid.uuid4().hex[:6]}", scale=1)
            try:
                for i in range(5):
                    body = slash_command_body("1 2", user_id=f"U{i}", channel_id=f"CIDLE{i}",
                                              response_url=fake.response_url())
                    assert (await post_signed(bot.url, body, SIGNING_SECRET))[0] == 200
                await start_plain_runs(client, queue, finished_runs - 5)
                await fake.wait_for(lambda: len([m for m in fake.messages() if (m.metadata or {}).get(
                    "event_type") == "fanout_summary"]) == 5, timeout=120)
                still_open = await all_closed(client)
                worker.stop()  # from now on the bot is the server's only client
                setup_s = time.monotonic() - setup
                before = await settled_requests(stack.metrics_port)
                await asyncio.sleep(idle_s)
                after = await settled_requests(stack.metrics_port)
                calls, _ = delta(before, after)  # long polls count when they end: left out
                status, body = await http_get(bot.url.replace("/slack/events", "/healthz"))
                return Idle(finished_runs, idle_s, calls, f"{status} {body.strip()}", setup_s, still_open)
            finally:
                await bot.stop()
    finally:
        stack.stop()


async def start_plain_runs(client: Client, queue: str, count: int, concurrency: int = 50) -> None:
    """``count`` ParentWorkflows of one value each (the lab's plain list), run to the end."""
    gate = asyncio.Semaphore(concurrency)
    prefix = uuid.uuid4().hex[:6]

    async def one(i: int) -> None:
        async with gate:
            await client.execute_workflow("ParentWorkflow", [i + 1], id=f"done-{prefix}-{i}", task_queue=queue)

    await asyncio.gather(*(one(i) for i in range(count)))


RUN_TYPES = ("ParentWorkflow", "ChildWorkflow", "BatchWorkflow", "ReporterWorkflow")


async def all_closed(client: Client, timeout_s: float = 120) -> dict[str, int]:
    """Once every run and reporter has closed: the workflows still open, by type (the bot's long-lived
    ones: a HomeWorkflow per user, idle for an hour, and the day's DailyStatsWorkflow)."""
    deadline = time.monotonic() + timeout_s
    types = ", ".join(f"'{t}'" for t in RUN_TYPES)
    while time.monotonic() < deadline:
        query = f"ExecutionStatus = 'Running' AND WorkflowType IN ({types})"
        if not [wf async for wf in client.list_workflows(query)]:
            left = Counter([wf.workflow_type async for wf in client.list_workflows("ExecutionStatus = 'Running'")])
            return dict(sorted(left.items()))
        await asyncio.sleep(0.5)
    raise TimeoutError("bench: runs still running")


@dataclass
class BotDown:
    runs: int
    down_s: float
    startup_s: float = 0.0  # the returning bot: spawn -> its workers poll
    delays_s: list[float] = field(default_factory=list)  # per run: bot back (spawned) -> its summary
    summaries: list[int] = field(default_factory=list)  # per run: summaries in its thread
    final_edits: int = 0  # run messages in their final state
    final_edit_max_s: float = float("nan")  # bot back (spawned) -> the last run message in its final state


async def bot_down(runs: int, down_s: float) -> BotDown:
    """``runs`` runs started through the bot; the bot is killed; every run finishes; ``down_s`` after the
    kill the bot starts again."""
    out = BotDown(runs, down_s)
    stack, client, queue = await _fanout_stack("temporal-bot-down")
    env = f"down-{uuid.uuid4().hex[:6]}"
    try:
        async with FakeSlack(limits=SlackLimits()) as fake:
            bot = await start_bot("down-a", stack.address, queue, fake.base_url, _logs("down"), environment=env,
                                  scale=1)
            channels = [f"CDOWN{i}" for i in range(runs)]
            for i, channel in enumerate(channels):
                body = slash_command_body(f"1-3 --delay {2 + i % 3}", user_id=f"U{i}", channel_id=channel,
                                          response_url=fake.response_url())
                assert (await post_signed(bot.url, body, SIGNING_SECRET))[0] == 200
            await fake.wait_for(lambda: all(_started(fake, c) for c in channels), timeout=60)
            ids = [_started(fake, c)[0].metadata["event_payload"]["workflow_id"] for c in channels]  # type: ignore[index]
            bot.kill()
            killed = time.monotonic()
            await asyncio.gather(*(client.get_workflow_handle(i).result() for i in ids))
            await asyncio.sleep(max(0.0, down_s - (time.monotonic() - killed)))
            back = time.monotonic()
            bot = await start_bot("down-b", stack.address, queue, fake.base_url, _logs("down"), environment=env,
                                  scale=1)
            out.startup_s = time.monotonic() - back
            try:
                arrived: dict[str, float] = {}
                finals: dict[str, float] = {}
                deadline = time.monotonic() + 120  # final edits share the edit budget (40 a minute): ~15 s for 10
                while len(finals) < runs and time.monotonic() < deadline:
                    for channel, run_id in zip(channels, ids, strict=True):
                        if run_id not in arrived and tagged(fake, channel, "fanout_summary", run_id):
                            arrived[run_id] = time.monotonic() - back
                        message = tagged(fake, channel, "fanout_started", run_id)
                        if run_id not in finals and message and is_final(message[0].blocks):
                            finals[run_id] = time.monotonic() - back
                    await asyncio.sleep(0.05)
                await asyncio.sleep(5)  # anything posted twice would be by now
                out.delays_s = [arrived.get(i, float("nan")) for i in ids]
                out.summaries = [len(tagged(fake, c, "fanout_summary", i)) for c, i in zip(channels, ids, strict=True)]
                out.final_edits = len(finals)
                out.final_edit_max_s = max(finals.values(), default=float("nan"))
            finally:
                await bot.stop()
    finally:
        stack.stop()
    return out


def _started(fake: FakeSlack, channel: str) -> list:  # type: ignore[type-arg]
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_started"]


def _logs(name: str):  # type: ignore[no-untyped-def]
    path = RESULTS / "logs" / name
    path.mkdir(parents=True, exist_ok=True)
    return path
