"""The child workflow types, gathered: ChildWorkflow (the lab's: doubles its value, in
workflows.double), SquareChildWorkflow (the lab's "other child types" experiment, workflows.square)
and BatchWorkflow (workflows.batch).

Each is declared alone in its own module because the sandbox re-imports a workflow's module, and
every module it imports that is not passed through, for every run — every child. A ChildWorkflow run
imports workflows.double, workflows.work and workflows.rules, never this module; a ParentWorkflow starts
them by name (workflows.model.CHILD_WORKFLOW_TYPES), so its runs import none of them either.
"""

from workflows.batch import BatchWorkflow
from workflows.double import ChildWorkflow
from workflows.square import SquareChildWorkflow

__all__ = ["BatchWorkflow", "ChildWorkflow", "SquareChildWorkflow"]
