"""Example child types of a team's own (entry points in this package's pyproject.toml).

- ``write-file`` (an activity, real I/O): writes one JSON file per value under FANOUT_EXAMPLE_DIR and
  returns its path and size. The file is created exclusively, so a retry after a failure that came
  *after* the write finds it and returns the same result without writing again (every real write is also
  appended to ``writes.log``, which is how the tests see that). Values in FANOUT_EXAMPLE_FLAKY fail once,
  after writing; negative values fail for good (no retry helps).
- ``countdown`` (a workflow): counts down from the value on durable timers, deterministic.
"""

import json
import os
import tempfile
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from fanout_example.countdown import CountdownWorkflow
from workflows.plugin import ChildType


def _directory() -> Path:
    return Path(os.environ.get("FANOUT_EXAMPLE_DIR") or Path(tempfile.gettempdir()) / "fanout-example")


@activity.defn(name="write_value_file")
async def write_value_file(value: int) -> dict[str, object]:
    if value < 0:
        raise ApplicationError(f"no file for a negative value ({value})", type="NegativeValue", non_retryable=True)
    directory = _directory()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"value-{value}.json"
    body = json.dumps({"value": value, "double": value * 2})
    try:
        with open(path, "x", encoding="utf-8") as out:  # exclusive: a retry never writes twice
            out.write(body)
        with open(directory / "writes.log", "a", encoding="utf-8") as log:
            log.write(f"{value}\n")
    except FileExistsError:  # written by an earlier attempt: its result again
        return {"path": path.name, "bytes": len(path.read_bytes())}
    flaky = {int(v) for v in os.environ.get("FANOUT_EXAMPLE_FLAKY", "").split(",") if v.strip()}
    if value in flaky:  # fails once, after writing: the retry finds the file
        raise ApplicationError(f"the disk hiccuped after writing {path.name}", type="DiskHiccup")
    return {"path": path.name, "bytes": len(body.encode())}


WRITE_FILE = ChildType("write-file", "writes one JSON file per value (example plugin)", activity=write_value_file)
COUNTDOWN = ChildType("countdown", "counts down from the value, 1 s a step on durable timers (example plugin)",
                      workflow=CountdownWorkflow)
