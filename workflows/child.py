"""Child workflows: one value each — ChildWorkflow (the lab's: doubles it) and SquareChildWorkflow
(the lab's "other child types" experiment) — and, re-exported here, BatchWorkflow (workflows.batch).

The sandbox re-imports a workflow's module for every run, i.e. for every child, so this module
only declares the workflows; what they do lives in workflows.work, passed through once.
"""

# No `from __future__ import annotations` here: string annotations become ForwardRefs compiled
# again for every run.
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.batch import BatchWorkflow
    from workflows.model import ChildInput, ChildOutput
    from workflows.work import run_one

__all__ = ["BatchWorkflow", "CHILD_WORKFLOWS", "ChildWorkflow", "SquareChildWorkflow"]


@workflow.defn
class ChildWorkflow:
    """The lab's child: doubles its value; fails according to the request's rule."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await run_one(input)


@workflow.defn
class SquareChildWorkflow:
    """Another child type (the lab's experiment 3): squares its value."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await run_one(input)


CHILD_WORKFLOWS: dict[str, type[ChildWorkflow] | type[SquareChildWorkflow]] = {
    "double": ChildWorkflow, "square": SquareChildWorkflow,
}
