"""Parent shapes for finding the dev server's ceiling (bench/ceiling.py): the same ChildWorkflow as a run's
(workflows.child), started by parents of different shapes. Not product code: ``ShapeParent`` takes its shape
as input, so one worker can try a single parent with any window, or a tree of parents that each own a part
of the children.

    ShapeSpec(lo, hi, window, start_window, fanout)

- ``window``: children pending at once (the product's MAX_PENDING_CHILDREN);
- ``start_window``: child starts in flight at once (initiated, not yet started; the product's
  MAX_STARTING_CHILDREN); 0 = no bound (the lab's: every start in the first workflow task);
- ``fanout``: > 1 starts that many ShapeParents, each owning a contiguous part of the values (a tree).
"""

# No `from __future__ import annotations`: the sandbox re-imports this module per run.
import asyncio
from dataclasses import dataclass
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ChildWorkflowError

from workflows.child import ChildWorkflow
from workflows.model import ChildInput


@dataclass
class ShapeSpec:
    lo: int
    hi: int
    window: int = 500
    start_window: int = 50
    fanout: int = 1
    prefix: str = ""  # child ids: f"{prefix}-c{value}" (the run's id by default)


@workflow.defn(name="ShapeParent")
class ShapeParent:
    @workflow.run
    async def run(self, spec: ShapeSpec) -> int:
        prefix = spec.prefix or workflow.info().workflow_id
        if spec.fanout > 1:
            total = spec.hi - spec.lo + 1
            step = -(-total // spec.fanout)
            parts = []
            for k in range(spec.fanout):
                lo = spec.lo + k * step
                hi = min(spec.hi, lo + step - 1)
                if lo > hi:
                    break
                parts.append(workflow.execute_child_workflow(
                    ShapeParent.run, ShapeSpec(lo, hi, spec.window, spec.start_window, 1, prefix),
                    id=f"{prefix}-s{k}"))
            return sum(await asyncio.gather(*parts))
        pending = 0
        starting = 0
        tasks: list[Any] = []

        async def one(value: int) -> int:
            nonlocal pending, starting
            try:
                handle = await workflow.start_child_workflow(
                    ChildWorkflow.run, ChildInput(value, "even"), id=f"{prefix}-c{value}",
                    retry_policy=RetryPolicy(maximum_attempts=1))
            finally:
                starting -= 1
            try:
                await handle
                return 1
            except ChildWorkflowError:  # even values fail: a child that failed ran all the same
                return 1
            finally:
                pending -= 1

        for value in range(spec.lo, spec.hi + 1):
            if spec.start_window:
                await workflow.wait_condition(lambda: pending < spec.window and starting < spec.start_window)  # noqa: B023
            pending += 1
            starting += 1
            tasks.append(asyncio.create_task(one(value)))
        return sum(await asyncio.gather(*tasks))
