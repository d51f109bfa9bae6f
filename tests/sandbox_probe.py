"""Workflows that do what workflow code must not, for tests/test_sandbox.py: read the clock, draw
from the global random generator, open a file — directly, and through a module of ours
(workflows.parent's own ``datetime``), which is refused only if that module runs inside the sandbox.
And one that signals another workflow that may not be there (workflows.signals), for tests/test_workflows.py.
"""

import random
from datetime import datetime

from temporalio import workflow

from workflows import parent  # imported the way the workflow modules import one another
from workflows.signals import tell


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
class ParentModuleClockProbe:
    """datetime.now() with the ``datetime`` workflows.parent imported: the real class if that module
    was passed through (the call escapes the sandbox's checks), the sandbox's guarded one if not."""

    @workflow.run
    async def run(self) -> str:
        return parent.datetime.now().isoformat()


PROBES = [ClockProbe, RandomProbe, FileProbe, ParentModuleClockProbe]


@workflow.defn
class TellProbe:
    """workflows.signals.tell, from workflow code: True when the target got the signal, False when it has closed
    or never was."""

    @workflow.run
    async def run(self, target: str) -> bool:
        return await tell(target, "request_cancel", "probe")
