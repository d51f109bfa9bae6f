"""The worker (``python worker.py``) and the bot (``python -m bot``, HTTP mode) as real processes, for the
reliability tests: start them ready to use, SIGKILL them (``kill()``), or stop them with SIGTERM (``stop()``,
the exit code).

Reconstructed on top of tests/entrypoints.py after its first version was overwritten by mistake; the
interface is what tests/test_reliability.py uses.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from bot.queues import SlackBudget
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, TEST_SLACK_SCALE
from tests.entrypoints import PYTHON, Service, child_env, free_port, wait_http

__all__ = ["BotProcess", "budget_env", "free_port", "start_bot", "start_worker"]


class BotProcess(Service):
    url: str = ""  # where Slack would POST: http://127.0.0.1:<port>/slack/events


async def start_worker(temporal_address: str, queue: str, tmp_path: Path, name: str) -> Service:
    """A worker process on ``queue``, returned once it polls."""
    env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=queue)
    worker = await Service.start([PYTHON, "worker.py"], env, tmp_path / f"{name}.log")
    await worker.wait_for_output(f"worker listening on task queue {queue}")
    return worker


def budget_env(scale: float) -> dict[str, str]:
    """FANOUT_SLACK_*_PER_MINUTE: the default budget times ``scale`` (to match a fake Slack's SlackLimits.scaled)."""
    budget = SlackBudget()
    return {f"FANOUT_SLACK_{f.name.upper()}_PER_MINUTE": str(getattr(budget, f.name) * scale) for f in fields(budget)}


async def start_bot(
    name: str, temporal_address: str, task_queue: str, slack_api_url: str, tmp_path: Path, *,
    environment: str, scale: float = TEST_SLACK_SCALE, wait_workers: bool = True, **extra: str
) -> BotProcess:
    """A bot process in HTTP mode, returned once it serves (its /healthz answers) and, with ``wait_workers``,
    once its workers run. Replicas of one bot share ``environment`` (FANOUT_ENV): the same task queues."""
    port = free_port()
    values = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": slack_api_url,
              "TEMPORAL_ADDRESS": temporal_address, "FANOUT_TASK_QUEUE": task_queue, "FANOUT_PROGRESS_INTERVAL": "0.5",
              "FANOUT_ENV": environment, "FANOUT_MAX_RUNS_PER_USER": "0", "HOST": "127.0.0.1", "PORT": str(port),
              **budget_env(scale)}
    env = child_env(**{**values, **extra})
    service = await Service.start([PYTHON, "-m", "bot"], env, tmp_path / f"{name}.log")
    bot = BotProcess(service.proc, service.log)
    await wait_http(f"http://127.0.0.1:{port}/healthz", bot)
    if wait_workers:
        await bot.wait_for_output("bot workers on ")
    bot.url = f"http://127.0.0.1:{port}/slack/events"
    return bot
