"""SquareChildWorkflow, another child type (the lab's experiment 3): squares its value.

Alone in its module, like ChildWorkflow (workflows.child): the sandbox re-imports it per run.
"""

# No `from __future__ import annotations` here: string annotations become ForwardRefs compiled
# again for every run.
from temporalio import workflow

from workflows.model import ChildInput, ChildOutput
from workflows.work import run_one


@workflow.defn
class SquareChildWorkflow:
    """Another child type (the lab's experiment 3): squares its value."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await run_one(input)
