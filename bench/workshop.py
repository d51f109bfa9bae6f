"""The workshop, one channel (figures, no assertions): a room of people each typing ``/fanout`` into the same
channel a moment apart, through 2 bot replicas (real ``python -m bot`` processes, HTTP mode), one real
``python worker.py``, a fresh dev server of its own (bench.infra.Stack: our dev-server flags), and the fake
Slack in this process with Slack's own tiers (``SlackLimits()``: chat.postMessage a token bucket per channel,
1/s with bursts of 3, under a workspace cap).

In order: the stack settles; idle CPU of the bots and the server over a window; the workshop (``users``
commands ``gap_s`` apart, alternating replicas, and halfway through one ``/fanout 1 2 3`` in a quiet channel);
every summary; the files drained; a cool-down; idle CPU again; optionally ``history`` finished runs started
straight in Temporal (a day's worth in visibility) and idle CPU once more.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import time
import uuid
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field

from temporalio.client import Client

from bench.infra import ROOT, Stack, cpu_seconds, wait_for_poller
from bench.team import _logs, start_plain_runs
from devkit.fake_slack.requests import post_signed, slash_command_body
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from tests.conftest import SIGNING_SECRET
from tests.processes import BotProcess, start_bot
from tests.server_metrics import LONG_POLLS, frontend_requests
from tests.team_load import posted, tagged

RATE_WINDOW_S = 10.0  # the channel's busiest rolling window of posts


@dataclass(frozen=True)
class WorkshopLoad:
    users: int = 60  # one command each, all in one channel
    gap_s: float = 0.3  # between two commands
    text: str = "1-8 --delay 5-45 --fail none"
    quiet_text: str = "1 2 3"  # sent in a quiet channel after half the commands
    idle_s: float = 60.0  # each idle window
    settle_s: float = 15.0  # the stack up -> the first idle window
    drained_after_s: float = 20.0  # no completed upload for this long after the last summary: the files drained
    drain_timeout_s: float = 600.0
    summaries_timeout_s: float = 900.0  # the last command -> every summary
    cool_s: float = 30.0  # drained -> the second idle window (and history done -> the third)
    replicas: int = 2
    history: int = 0  # finished runs started straight in Temporal before a third idle window (0: none)


WORKSHOP = WorkshopLoad()
QUICK = WorkshopLoad(users=20, idle_s=20.0, settle_s=5.0, cool_s=10.0)


@dataclass
class IdleCpu:
    """CPU-seconds per minute over an idle window, and the Temporal RPCs meanwhile (long polls apart)."""

    what: str
    window_s: float
    bots: float  # the replicas together
    server: float
    worker: float
    rpcs_per_minute: float
    rpcs: dict[str, int] = field(default_factory=dict)  # by method, in the window


@dataclass
class Workshop:
    load: WorkshopLoad
    code: str = ""  # the commit measured, and whether the checkout had uncommitted changes
    channel: str = ""  # the workshop's
    quiet_channel: str = ""
    idle: list[IdleCpu] = field(default_factory=list)  # before, after the drain, after the history
    acks: list[float] = field(default_factory=list)  # ms, per command (the quiet one too)
    ack_failures: int = 0  # answers other than HTTP 200 and an empty body
    runs_started: int = 0  # ParentWorkflows in Temporal once the summaries are in (the quiet run too)
    run_messages_missing: int = 0  # commands of the workshop and the quiet channel without a run message
    run_message_duplicates: int = 0  # run messages beyond one per run
    summaries_posted: int = 0
    summaries_missing: int = 0
    summary_duplicates: int = 0
    attempts: dict[str, int] = field(default_factory=dict)  # Slack Web API attempts by method, the whole section
    limited: dict[str, int] = field(default_factory=dict)  # ... answered HTTP 429
    channel_posts: int = 0  # successful chat.postMessage calls to the workshop channel
    channel_span_s: float = 0.0  # its first -> its last
    channel_max_in_window: int = 0  # the most in any rolling RATE_WINDOW_S
    lags: list[float] = field(default_factory=list)  # command -> its summary, in the order summaries arrived
    waits: list[float] = field(default_factory=list)  # its run closed -> its summary, in the same order
    message_lags: list[float] = field(default_factory=list)  # command -> its run message
    quiet_lag_s: float = float("nan")
    quiet_message_s: float = float("nan")  # the quiet command -> its run message
    quiet_wait_s: float = float("nan")  # the quiet run closed -> its summary
    files: int = 0  # completed uploads
    drained: bool = False  # False: the drain timed out
    drain_s: float = float("nan")  # the last summary -> the last completed upload
    busy_s: float = 0.0  # the first command -> drained
    busy_cpu: dict[str, float] = field(default_factory=dict)  # CPU-seconds, first command -> drained
    history_s: float = 0.0  # starting and finishing the history runs

    @property
    def pace(self) -> float:
        return self.channel_posts / self.channel_span_s if self.channel_span_s else float("nan")


async def workshop(load: WorkshopLoad) -> Workshop:
    out = Workshop(load, code_version(), "CWORK" + uuid.uuid4().hex[:6].upper(),
                   "CQUIET" + uuid.uuid4().hex[:5].upper())
    stack = Stack()
    client = await stack.start_server("temporal-workshop")
    queue = f"workshop-{uuid.uuid4().hex[:6]}"
    worker = stack.start_worker("workshop-worker", ["worker.py"], queue)
    bots: list[BotProcess] = []
    try:
        await wait_for_poller(client, queue)
        async with FakeSlack(limits=SlackLimits()) as fake:
            env = f"workshop-{uuid.uuid4().hex[:6]}"
            for i in range(load.replicas):
                bots.append(await start_bot(f"{env}-{i}", stack.address, queue, fake.base_url, _logs("workshop"),
                                            environment=env, scale=1, FANOUT_PROGRESS_INTERVAL="3"))
            pids = {"bots": [b.proc.pid for b in bots], "server": [stack.server.pid if stack.server else 0],
                    "worker": [worker.pid]}
            await asyncio.sleep(load.settle_s)
            out.idle.append(await _idle_cpu("before", load.idle_s, pids, stack.metrics_port))
            await _run(out, load, fake, bots, pids, client)
            out.runs_started = len([wf async for wf in client.list_workflows("WorkflowType = 'ParentWorkflow'")])
            await asyncio.sleep(load.cool_s)
            out.idle.append(await _idle_cpu("after the drain", load.idle_s, pids, stack.metrics_port))
            if load.history:
                started = time.monotonic()
                await start_plain_runs(client, queue, load.history)
                out.history_s = time.monotonic() - started
                await asyncio.sleep(load.cool_s)
                out.idle.append(await _idle_cpu(f"after {load.history:,} more finished runs", load.idle_s, pids,
                                                stack.metrics_port))
            _count(out, fake, load)
    finally:
        for bot in bots:
            try:
                await bot.stop()
            except AssertionError:  # did not stop in time: killed
                pass
        stack.stop()
    return out


async def _idle_cpu(what: str, window_s: float, pids: dict[str, list[int]], metrics_port: int) -> IdleCpu:
    cpu = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
    rpcs = await frontend_requests(metrics_port)
    started = time.monotonic()
    await asyncio.sleep(window_s)
    elapsed = time.monotonic() - started
    after = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
    calls = {k: int(v - rpcs.get(k, 0.0)) for k, v in (await frontend_requests(metrics_port)).items()
             if k not in LONG_POLLS and v - rpcs.get(k, 0.0) > 0}
    per_minute = {k: (after[k] - cpu[k]) * 60 / elapsed for k in cpu}
    return IdleCpu(what, elapsed, per_minute["bots"], per_minute["server"], per_minute["worker"],
                   sum(calls.values()) * 60 / elapsed, dict(sorted(calls.items(), key=lambda kv: -kv[1])))


async def _run(out: Workshop, load: WorkshopLoad, fake: FakeSlack, bots: list[BotProcess],
               pids: dict[str, list[int]], client: Client) -> None:
    """The commands, every summary, the files drained; figures into ``out``."""
    channel, quiet = out.channel, out.quiet_channel
    users = [f"UW{i:03d}" for i in range(load.users)]
    cpu_before = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
    started = time.monotonic()
    sends: dict[str, asyncio.Task[float]] = {}
    for i, user in enumerate(users):
        await asyncio.sleep(max(0.0, started + i * load.gap_s - time.monotonic()))
        sends[user] = asyncio.create_task(_send(out, bots[i % len(bots)], fake, user, channel, load.text))
        if i + 1 == load.users // 2:
            sends["UQUIET"] = asyncio.create_task(_send(out, bots[(i + 1) % len(bots)], fake, "UQUIET", quiet,
                                                        load.quiet_text))
    sent = {user: await task for user, task in sends.items()}
    where = {**dict.fromkeys(users, channel), "UQUIET": quiet}

    def posted_at(user: str, event_type: str = "fanout_summary") -> float | None:
        run_ids = _run_ids(fake, where[user], user)
        posts = posted(fake.attempts, event_type, run_ids[0]) if run_ids else []
        return posts[0].at if posts else None

    deadline = time.monotonic() + load.summaries_timeout_s
    while any(posted_at(u) is None for u in sent) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
    arrived = {u: at for u in sent if (at := posted_at(u)) is not None}
    order = [u for u, _ in sorted(arrived.items(), key=lambda kv: kv[1]) if u != "UQUIET"]
    closed = {u: await _closed_at(client, _run_ids(fake, where[u], u)[0]) for u in arrived}
    out.lags = [arrived[u] - sent[u] for u in order]
    out.waits = [arrived[u] - closed[u] for u in order]
    out.message_lags = [at - sent[u] for u in users if (at := posted_at(u, "fanout_started")) is not None]
    if "UQUIET" in arrived:
        out.quiet_lag_s = arrived["UQUIET"] - sent["UQUIET"]
        out.quiet_wait_s = arrived["UQUIET"] - closed["UQUIET"]
    out.quiet_message_s = (posted_at("UQUIET", "fanout_started") or float("nan")) - sent["UQUIET"]
    last_summary = max(arrived.values(), default=time.monotonic())

    while True:
        uploads = [a.at for a in fake.attempts if a.method == "files.completeUploadExternal" and a.status == 200
                   and not a.error]
        now = time.monotonic()
        if now - max([last_summary, *uploads]) >= load.drained_after_s:
            out.drained = True
            break
        if now - last_summary >= load.drain_timeout_s:
            break
        await asyncio.sleep(0.5)
    out.drain_s = max(uploads) - last_summary if uploads else float("nan")
    out.busy_s = time.monotonic() - started
    out.busy_cpu = {k: sum(cpu_seconds(p) for p in v) - cpu_before[k] for k, v in pids.items()}

    posts = sorted(a.at for a in fake.attempts if a.method == "chat.postMessage" and a.status == 200
                   and not a.error and a.params.get("channel") == channel)
    out.channel_posts = len(posts)
    out.channel_span_s = posts[-1] - posts[0] if len(posts) > 1 else 0.0
    out.channel_max_in_window = max((bisect_right(posts, at + RATE_WINDOW_S - 1e-9) - i
                                     for i, at in enumerate(posts)), default=0)
    out.files = len(fake.files)


def _count(out: Workshop, fake: FakeSlack, load: WorkshopLoad) -> None:
    """Run messages and summaries per command, counted once everything is over (a late duplicate counts too)."""
    runs = {**{f"UW{i:03d}": out.channel for i in range(load.users)}, "UQUIET": out.quiet_channel}
    for user, channel in runs.items():
        run_ids = _run_ids(fake, channel, user)
        out.run_messages_missing += not run_ids
        out.run_message_duplicates += max(0, len(run_ids) - 1)
        summaries = len(tagged(fake, channel, "fanout_summary", run_ids[0])) if run_ids else 0
        out.summaries_posted += summaries
        out.summaries_missing += not summaries
        out.summary_duplicates += max(0, summaries - 1)
    out.attempts = dict(sorted(Counter(a.method for a in fake.attempts).items()))
    out.limited = dict(sorted(Counter(a.method for a in fake.attempts if a.status == 429).items()))


async def _send(out: Workshop, bot: BotProcess, fake: FakeSlack, user: str, channel: str, text: str) -> float:
    """The command, signed, to ``bot``; when it was sent."""
    body = slash_command_body(text, user_id=user, channel_id=channel, response_url=fake.response_url(channel),
                              trigger_id=f"workshop-{uuid.uuid4().hex}")
    sent_at = time.monotonic()
    status, answer, elapsed = await post_signed(bot.url, body, SIGNING_SECRET)
    out.acks.append(elapsed * 1000)
    out.ack_failures += status != 200 or answer != ""
    return sent_at


async def _closed_at(client: Client, run_id: str) -> float:
    """When the run closed, on this process's monotonic clock (the fake's), or nan."""
    closed = (await client.get_workflow_handle(run_id).describe()).close_time
    return closed.timestamp() - (time.time() - time.monotonic()) if closed else float("nan")


def code_version() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout.strip()

    changed = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    return git("rev-parse", "--short", "HEAD") + (f" + uncommitted changes in {changed} files" if changed else "")


def _run_ids(fake: FakeSlack, channel: str, user: str) -> list[str]:
    """The runs ``user`` started in ``channel``, from their run messages (one each)."""
    payloads = [(m.metadata or {}).get("event_payload") or {} for m in fake.messages(channel)
                if (m.metadata or {}).get("event_type") == "fanout_started"]
    return [str(p["workflow_id"]) for p in payloads if p.get("user_id") == user]


# -- the report ----------------------------------------------------------------------------------------------

def _s(x: float) -> str:
    return "—" if x != x else f"{x:.1f} s"  # nan: never happened


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def render(w: Workshop) -> str:
    load = w.load
    lags = w.lags
    commands = load.users + 1
    ok = len(w.acks) - w.ack_failures
    lag_row = (f"first to arrive {_s(lags[0])}, last {_s(lags[-1])} (median {_s(statistics.median(lags))}, "
               f"min {_s(min(lags))}, max {_s(max(lags))})" if lags else "no summary arrived")
    wait_row = (f"first to arrive {_s(w.waits[0])}, last {_s(w.waits[-1])} (median "
                f"{_s(statistics.median(w.waits))}, max {_s(max(w.waits))})" if w.waits else "—")
    message_row = (f"median {_s(statistics.median(w.message_lags))}, max {_s(max(w.message_lags))}"
                   if w.message_lags else "—")
    drain = ("drained" if w.drained else f"NOT drained: gave up {load.drain_timeout_s:.0f} s after the last summary")
    cpu = w.busy_cpu
    out = [f"## The workshop in one channel ({load.users} users, `/fanout {load.text}` {load.gap_s} s apart, "
           f"{load.replicas} bot replicas)", "", f"Code: {w.code}.", "",
           "On a fresh dev server of its own (our flags: devkit.temporal_server), one `python worker.py`, the bot "
           "replicas as real `python -m bot` processes (commands alternate between them), the fake Slack with "
           "Slack's own tiers in the benchmark's process (chat.postMessage: 1/s per channel, bursts of 3). After "
           f"the {load.users // 2}th command, `/fanout {load.quiet_text}` in a quiet channel. Files drained: no "
           f"completed upload for {load.drained_after_s:.0f} s after the last summary. First command → drained "
           f"took {w.busy_s:.0f} s.", "",
           "| figure | value |", "|---|---|",
           f"| commands acked (HTTP 200, empty body) | {ok}/{commands} (max {max(w.acks, default=0):.0f} ms) |",
           f"| runs started (ParentWorkflows in Temporal) / summaries posted | {w.runs_started} / "
           f"{w.summaries_posted} |",
           f"| run messages missing / duplicated | {w.run_messages_missing} / {w.run_message_duplicates} |",
           f"| summaries missing / duplicated | {w.summaries_missing} / {w.summary_duplicates} |",
           f"| HTTP 429s, all / by method | {sum(w.limited.values()):,} / {_counts(w.limited)} |",
           f"| Slack Web API attempts, by method | {_counts(w.attempts)} |",
           f"| the channel's chat.postMessage pace | {w.pace:.2f}/s ({w.channel_posts} posts over "
           f"{w.channel_span_s:.0f} s); most in any {RATE_WINDOW_S:.0f} s: {w.channel_max_in_window} |",
           f"| summary lag, command → its summary | {lag_row} |",
           f"| its run closed → its summary | {wait_row} |",
           f"| command → its run message | {message_row} |",
           f"| the quiet channel's summary lag (command → run message; run closed → summary) | "
           f"{_s(w.quiet_lag_s)} ({_s(w.quiet_message_s)}; {_s(w.quiet_wait_s)}) |",
           f"| files uploaded; the last one after the last summary | {w.files}; {_s(w.drain_s)} ({drain}) |",
           f"| CPU, first command → drained ({w.busy_s:.0f} s): bots / worker / server | "
           f"{cpu.get('bots', 0):.1f} / {cpu.get('worker', 0):.1f} / {cpu.get('server', 0):.1f} CPU-s |", "",
           "| idle | window | bots (both) CPU-s/min | server CPU-s/min | worker CPU-s/min | Temporal RPCs/min "
           "(long polls apart) | most frequent |", "|---|---:|---:|---:|---:|---:|---|"]
    for idle in w.idle:
        top = _counts(dict(list(idle.rpcs.items())[:4]))
        out.append(f"| {idle.what} | {idle.window_s:.0f} s | {idle.bots:.2f} | {idle.server:.2f} | "
                   f"{idle.worker:.2f} | {idle.rpcs_per_minute:.0f} | {top} |")
    if load.history:
        out += ["", f"The {load.history:,} finished runs (one-value ParentWorkflows, started from a client) took "
                f"{w.history_s:.0f} s; then {load.cool_s:.0f} s to settle."]
    return "\n".join(out)
