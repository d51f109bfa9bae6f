"""Helpers for tests that run the real entry points (``python worker.py``, ``python -m bot``, ``python -m bot.cli``)
as child processes. Everything is asyncio: the session's in-process worker runs on pytest's event loop, so a
blocking ``subprocess.run`` would stall it.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import signal
import socket
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.testing import WorkflowEnvironment

ROOT = Path(__file__).resolve().parent.parent
_OWN_PREFIXES = ("SLACK_", "TEMPORAL_", "FANOUT_", "LOG_")
_OWN_NAMES = {"PORT", "HOST"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_range() -> tuple[int, int]:
    """The range the kernel draws ports from for ``bind(port 0)`` and ``connect()`` (Linux's default elsewhere)."""
    try:
        low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return low, high


def _bindable(port: int, *, reuse_addr: bool = False) -> bool:
    """Whether ``port`` can be bound on loopback. Without SO_REUSEADDR any socket on it fails this, even one
    in TIME_WAIT; with it (as a Go server binds), only sockets that hold it for real."""
    with socket.socket() as s:
        if reuse_addr:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def quiet_port() -> int:
    """A free loopback port outside the kernel's ephemeral range, for a server started later on it.

    ``free_port()`` returns a port from the ephemeral range and frees it: until a server binds it, any
    ``bind(port 0)`` on the machine may be handed the same port (another test's server, or the dev server's
    own internal services, which pick theirs that way). A port outside that range is only taken by someone
    asking for it by number.
    """
    low, high = _ephemeral_range()
    pool = [*range(20000, min(low, 32768)), *range(max(high + 1, 61000), 65536)] or list(range(20000, 30000))
    for _ in range(200):
        port = random.choice(pool)
        if _bindable(port):
            return port
    return free_port()


@dataclass(frozen=True)
class DevServerPorts:
    """The ports a dev server listens on that can be chosen (its internal services take ephemeral ones)."""

    grpc: int
    http: int
    metrics: int

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.grpc}"

    def with_new_side_ports(self) -> DevServerPorts:
        http, metrics = _distinct_quiet_ports(2, avoid={self.grpc})
        return DevServerPorts(self.grpc, http, metrics)


def _distinct_quiet_ports(count: int, avoid: set[int]) -> list[int]:
    ports: list[int] = []
    while len(ports) < count:
        port = quiet_port()
        if port not in avoid and port not in ports:
            ports.append(port)
    return ports


def dev_server_ports() -> DevServerPorts:
    """Free gRPC, HTTP API and metrics ports for ``start_dev_server`` (choose them before the address is needed)."""
    return DevServerPorts(*_distinct_quiet_ports(3, avoid=set()))


async def start_dev_server(ports: DevServerPorts | None = None, *, attempts: int = 3,
                           startup_timeout_s: float = 10.0) -> WorkflowEnvironment:
    """A Temporal dev server (no UI) on ``ports.grpc``, with /fanout's search attributes registered
    (``start_dev_server_on`` also says which ports it ended up with)."""
    env, _ = await start_dev_server_on(ports, attempts=attempts, startup_timeout_s=startup_timeout_s)
    return env


async def start_dev_server_on(ports: DevServerPorts | None = None, *, attempts: int = 3,
                              startup_timeout_s: float = 10.0) -> tuple[WorkflowEnvironment, DevServerPorts]:
    """A Temporal dev server (no UI) on ``ports.grpc``, with /fanout's search attributes registered; and
    its ports (the metrics port serves the server's own metrics: its RPCs by method).

    The HTTP API and metrics ports are explicit (``--http-port``, ``--metrics-port``) rather than picked by the
    dev server. Its internal services (history, matching, worker) still pick ephemeral ports, and one of them,
    or another process, can take a port between the pick and the bind ("bind: address already in use"; the
    server exits, the SDK notices only when ``startup_timeout_s`` is up). A failed or slow start is retried on
    the same gRPC port (callers may already have handed out the address) with fresh HTTP and metrics ports.
    """
    from temporalio.testing import WorkflowEnvironment

    from devkit.temporal_server import MATCHING
    from runtime.search_attributes import ALL
    from tests.conftest import temporal_cli

    ports = ports or dev_server_ports()
    for attempt in range(1, attempts + 1):
        try:
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=temporal_cli(), port=ports.grpc, ui=False, dev_server_log_level="error",
                search_attributes=list(ALL), dev_server_startup_timeout=timedelta(seconds=startup_timeout_s),
                dev_server_extra_args=["--http-port", str(ports.http), "--metrics-port", str(ports.metrics),
                                       *MATCHING],
            )
            return env, ports
        except RuntimeError:  # "Failed starting Temporal dev server: ... did not start within ..." (it is killed)
            if attempt == attempts:
                raise
            deadline = time.monotonic() + 10
            while not _bindable(ports.grpc, reuse_addr=True):  # the killed server lets go of it
                if time.monotonic() > deadline:
                    raise AssertionError(f"port {ports.grpc} stays taken: no dev server can start there") from None
                await asyncio.sleep(0.2)
            ports = ports.with_new_side_ports()
    raise AssertionError("unreachable")


async def custom_search_attributes(client: Client, namespace: str = "default") -> dict[str, str]:
    """A namespace's custom search attributes: name -> IndexedValueType name (``INDEXED_VALUE_TYPE_KEYWORD``)."""
    from temporalio.api.enums.v1 import IndexedValueType
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    listed = await client.operator_service.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    return {name: IndexedValueType.Name(kind) for name, kind in listed.custom_attributes.items()}


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
