"""docker-compose.yml is valid for Debian's docker-compose 1.29 (no Docker engine needed) and has the stack."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        reason = "docker-compose is not installed (apt-get install docker-compose; .ci/run installs it)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    # An empty env file: the result must not depend on (or print) a developer's .env secrets.
    empty = tmp_path_factory.mktemp("compose") / "empty.env"
    empty.write_text("")
    return [exe, "--env-file", str(empty), "-f", "docker-compose.yml"]


def run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TEMPORAL_", "FANOUT_"))}
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_compose_file_validates(compose: list[str]) -> None:
    result = run([*compose, "config", "-q"])
    assert result.returncode == 0, result.stderr


def test_compose_has_temporal_worker_and_bot(compose: list[str]) -> None:
    result = run([*compose, "config"])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("services:\n") or "\nservices:\n" in out, out
    for name in ("temporal", "worker", "bot"):
        assert f"\n  {name}:\n" in out, f"service {name!r} missing:\n{out}"  # two spaces: a top-level service
    for port in (7233, 8233, 3000):
        assert f"published: {port}\n" in out, f"port {port} is not published:\n{out}"
    assert "TEMPORAL_ADDRESS: temporal:7233" in out
    assert "image: temporalio/admin-tools:latest" in out
    assert "- worker.py" in out and "- bot\n" in out
