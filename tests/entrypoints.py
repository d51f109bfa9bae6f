"""Helpers for tests that run the real entry points (``python worker.py``, ``python -m bot``, ``python -m bot.cli``)
as child processes. Everything is asyncio: the session's in-process worker runs on pytest's event loop, so a
blocking ``subprocess.run`` would stall it.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
_OWN_PREFIXES = ("SLACK_", "TEMPORAL_", "FANOUT_", "LOG_")
_OWN_NAMES = {"PORT", "HOST"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child_env(**values: str) -> dict[str, str]:
    """The test's environment without the project's variables, plus ``values``.

    Every variable named in .env.example is set (to "" unless given) so that a developer's .env, which the
    entry points load without overriding the environment, cannot change what the test runs.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES) and k not in _OWN_NAMES}
    for name in re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M):
        env[name] = ""
    env.update(values)
    env["PYTHONUNBUFFERED"] = "1"
    return env


async def run(args: list[str], env: dict[str, str], timeout_s: float = 60.0) -> tuple[int, str, str]:
    """Run to completion: (exit code, stdout, stderr)."""
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout_s)
    except (TimeoutError, asyncio.CancelledError):  # also when an outer wait_for gives up: no orphans
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


class Service:
    """A long-running child process whose stdout and stderr go to a log file (no pipe to fill up)."""

    def __init__(self, proc: asyncio.subprocess.Process, log: Path) -> None:
        self.proc = proc
        self.log = log

    @classmethod
    async def start(cls, args: list[str], env: dict[str, str], log: Path) -> Service:
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *args, cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
            )
        return cls(proc, log)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    async def wait_for_output(self, text: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while text not in self.output():
            if self.proc.returncode is not None:
                raise AssertionError(f"exited with {self.proc.returncode} before {text!r}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout_s} s:\n{self.output()}")
            await asyncio.sleep(0.1)

    async def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, then the exit code (SIGKILL and fail if it takes longer than ``timeout_s``)."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), timeout_s)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
            raise AssertionError(f"did not stop within {timeout_s} s of SIGTERM:\n{self.output()}") from None

    def kill(self) -> None:
        """SIGKILL (a crash); asyncio reaps the process."""
        if self.proc.returncode is None:
            self.proc.kill()


async def http_get(url: str, timeout_s: float = 5.0) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=timeout_s)) as response:
            return response.status, await response.text()


async def wait_http(url: str, service: Service, timeout_s: float = 30.0) -> tuple[int, str]:
    """GET ``url`` until it answers (the service is still starting while the port is closed)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return await http_get(url)
        except (aiohttp.ClientError, OSError):
            if service.proc.returncode is not None:
                raise AssertionError(f"exited with {service.proc.returncode}:\n{service.output()}") from None
            if time.monotonic() > deadline:
                raise AssertionError(f"{url} did not answer within {timeout_s} s:\n{service.output()}") from None
            await asyncio.sleep(0.2)


PYTHON = sys.executable
