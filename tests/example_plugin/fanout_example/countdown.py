"""A workflow-backed child type: its own module, which the sandbox re-imports for every run."""

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError


@workflow.defn
class CountdownWorkflow:
    @workflow.run
    async def run(self, value: int) -> dict[str, int]:
        if value > 10:
            raise ApplicationError(f"{value} is too far to count down", type="TooFar")
        for _ in range(max(value, 0)):
            await workflow.sleep(timedelta(seconds=1))
        return {"from": value, "steps": max(value, 0)}
