"""A workflow module that reads the wall clock when it is imported. Not an entry point: the tests serve it
to show that the sandbox refuses it when the worker starts, with one line."""

import datetime

from temporalio import workflow

STARTED = datetime.datetime.now()


@workflow.defn
class ImportClockWorkflow:
    @workflow.run
    async def run(self, value: int) -> str:
        return STARTED.isoformat()
