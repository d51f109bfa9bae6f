"""The layout holds: the worker loads no Slack code (checked here in a fresh interpreter; the layers themselves are
import-linter's contracts in pyproject.toml, which `make test` checks), and the dev kit ships nowhere."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
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


def test_the_wheel_and_the_image_leave_the_dev_kit_out(tmp_path: Path) -> None:
    # The wheel, built from what a clone has (tracked and untracked files, as .gitignore leaves them).
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, text=True, check=True).stdout.split()
    source = tmp_path / "source"
    for name in listed:
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(tmp_path / "dist"),
                    str(source)], check=True, capture_output=True, timeout=600)
    [wheel] = (tmp_path / "dist").glob("fanout-*.whl")
    files = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in files if not name.split("/")[0].endswith(".dist-info")}
    assert tops == {"bot", "runtime", "workflows", "worker.py"}, tops
    assert "runtime/worker.py" in files and "bot/__main__.py" in files
    # The image is built from the context .dockerignore leaves: no dev kit, tests or bench in it.
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    assert {"devkit", "tests", "bench"} <= ignored
