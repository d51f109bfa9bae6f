"""A workflow that is not deterministic: it reads the wall clock. Not an entry point: the tests serve it
to show that the sandbox refuses it at its first run and the run reports its error."""

import datetime

from temporalio import workflow


@workflow.defn
class WallClockWorkflow:
    @workflow.run
    async def run(self, value: int) -> str:
        return datetime.datetime.now().isoformat()
