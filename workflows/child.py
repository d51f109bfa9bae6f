"""ChildWorkflow, the lab's child: doubles its value; fails according to the request's rule.

Alone in its module, like each child type (workflows.square, workflows.batch): the sandbox re-imports a
workflow's module, and what it imports, for every run — every child — so a child's module declares only that
child. A ParentWorkflow starts its children by type name (workflows.model.CHILD_WORKFLOW_TYPES), so its runs
import none of them.
"""

# No `from __future__ import annotations` here: string annotations become ForwardRefs compiled
# again for every run.
from temporalio import workflow

from workflows.model import ChildInput, ChildOutput
from workflows.work import run_one


@workflow.defn
class ChildWorkflow:
    """The lab's child: doubles its value; fails according to the request's rule."""

    @workflow.run
    async def run(self, input: ChildInput) -> ChildOutput:
        return await run_one(input)
