"""Workflows that do what workflow code must not, for tests/test_sandbox.py: read the clock, draw
from the global random generator, open a file — directly, and through a module of ours
(workflows.dispatch's own ``datetime``), which is refused only if that module runs inside the sandbox.
"""

import random
from datetime import datetime

from temporalio import workflow

from workflows import dispatch  # imported the way the workflow modules import it


@workflow.defn
class ClockProbe:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@workflow.defn
class RandomProbe:
    @workflow.run
    async def run(self) -> float:
        return random.random()


@workflow.defn
class FileProbe:
    @workflow.run
    async def run(self) -> str:
        with open(__file__) as f:
            return f.readline()


@workflow.defn
class DispatchClockProbe:
    """datetime.now() with the ``datetime`` workflows.dispatch imported: the real class if dispatch
    was passed through (the call escapes the sandbox's checks), the sandbox's guarded one if not."""

    @workflow.run
    async def run(self) -> str:
        return dispatch.datetime.now().isoformat()


PROBES = [ClockProbe, RandomProbe, FileProbe, DispatchClockProbe]
