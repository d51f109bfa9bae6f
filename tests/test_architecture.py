"""The layout holds: the worker loads no Slack code (checked here in a fresh interpreter; the layers themselves are
import-linter's contracts in pyproject.toml, which `make test` checks)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def modules_loaded_by(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          check=True)
    return set(json.loads(done.stdout))


def test_the_worker_loads_no_slack_code() -> None:
    loaded = modules_loaded_by("import worker")
    assert "runtime.worker" in loaded and "workflows.parent" in loaded  # it did import the worker
    slack = sorted(m for m in loaded if m.split(".")[0] in ("slack_sdk", "slack_bolt", "bot"))
    assert slack == [], slack
    # The same check catches what it should: the bot does load them.
    assert "slack_bolt" in modules_loaded_by("import bot.app")
