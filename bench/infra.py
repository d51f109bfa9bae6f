"""The benchmark's machinery: a dev server on free ports, worker subprocesses, peak RSS, the
machine's description."""

from __future__ import annotations

import asyncio
import os
import platform
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from devkit import temporal_server as dev_server

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def temporal_cli() -> str:
    path = VENV_BIN / "temporal"
    if not path.exists():
        raise SystemExit("bench: the temporal CLI is missing from the venv (pip install -e '.[dev]')")
    return str(path)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen  # type: ignore[type-arg]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


@dataclass
class Stack:
    """One dev server and the processes started against it; stopped in reverse order."""

    address: str = ""
    metrics_port: int = 0  # the dev server's Prometheus endpoint (its RPCs, persistence latency, ...)
    procs: list[Proc] = field(default_factory=list)
    server: Proc | None = None

    def spawn(self, name: str, args: list[str], env: dict[str, str] | None = None) -> Proc:
        RESULTS.mkdir(parents=True, exist_ok=True)
        log = RESULTS / f"{name}.log"
        with open(log, "w") as out:
            popen = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        proc = Proc(name, popen, log)
        self.procs.append(proc)
        return proc

    async def start_server(self, name: str = "temporal") -> Client:
        """A fresh in-memory dev server (the flags every dev server of ours gets, devkit.temporal_server)."""
        port = free_port()
        self.metrics_port = free_port()
        self.server = self.spawn(name, [temporal_cli(), "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                                        "--port", str(port), "--http-port", str(free_port()),
                                        "--metrics-port", str(self.metrics_port), "--log-level", "error",
                                        *dev_server.args()])
        self.address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                return await Client.connect(self.address)
            except RuntimeError:  # not listening yet
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)

    def start_worker(self, name: str, module_args: list[str], queue: str, **env: str) -> Proc:
        env = {"TEMPORAL_ADDRESS": self.address, "FANOUT_TASK_QUEUE": queue, "TEMPORAL_NAMESPACE": "default",
               "LOG_LEVEL": "WARNING", **env}
        return self.spawn(name, [sys.executable, *module_args], env)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


async def wait_for_poller(client: Client, queue: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    request = DescribeTaskQueueRequest(namespace="default", task_queue=TaskQueue(name=queue),
                                       task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
    while time.monotonic() < deadline:
        if (await client.workflow_service.describe_task_queue(request)).pollers:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError(f"no worker polls {queue}")


# -- CPU and memory -----------------------------------------------------------------------------------------

def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time the process has used so far (Linux /proc; nan elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def reset_peak_rss(pid: int | str = "self") -> None:
    """Resets the process's VmHWM (Linux: writing 5 to clear_refs); best effort."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def peak_rss_mb(pid: int | str = "self", field: str = "VmHWM") -> float:
    """The process's peak RSS (VmHWM) in MB, or its RSS now with ``field="VmRSS"``."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# -- the machine ------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    version = subprocess.run([temporal_cli(), "--version"], capture_output=True, text=True).stdout.strip()
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB RAM, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, {version}")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())
