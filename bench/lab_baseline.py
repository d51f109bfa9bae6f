# ruff: noqa
"""The lab's ParentWorkflow and ChildWorkflow (Lab 5, ../shared/seed/000_a987123c3742c013.txt), the
benchmark's baseline. The code below is the lab's, verbatim; only the two ``@workflow.defn``
decorators give the types their own names (LabParentWorkflow, LabChildWorkflow) so they can
share a dev server with the product's ParentWorkflow. Note the lab's ``child-{v}`` ids: two
runs at once collide, so the benchmark runs one baseline at a time.
"""

from temporalio import workflow
import asyncio
import logging
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

# Define the child workflow
@workflow.defn(name="LabChildWorkflow")  # bench: registered under its own name
class ChildWorkflow:
    @workflow.run
    async def run(self, value: int) -> int:
        """
        Child workflow that processes a single value.
        Simulates failures for even numbers to demonstrate error handling.
        """
        # Simulate partial failure for demonstration
        if value % 2 == 0:
            raise ApplicationError(f"Simulated failure for value {value}")
        
        # Process the value (double it)
        result = value * 2
        workflow.logger.info(f"Child workflow processed {value} -> {result}")
        return result

# Define the parent workflow  
@workflow.defn(name="LabParentWorkflow")  # bench: registered under its own name
class ParentWorkflow:
    @workflow.run
    async def run(self, values: list[int]) -> dict:
        """
        Parent workflow that orchestrates multiple child workflows in parallel.
        Demonstrates fan-out/fan-in pattern with graceful error handling.
        """
        workflow.logger.info(f"Parent workflow starting with values: {values}")
        
        results = []
        errors = []
        child_futures = []
        
        # Start all child workflows in parallel (Fan-Out)
        for v in values:
            child_future = workflow.execute_child_workflow(
                ChildWorkflow.run,
                v,
                id=f"child-{v}",  # Unique child workflow ID
                retry_policy=RetryPolicy(maximum_attempts=1)  # Disable retries for demo
            )
            child_futures.append((v, child_future))
        
        # Wait for all child workflows to complete (Fan-In)
        completed = await asyncio.gather(
            *[future for _, future in child_futures], 
            return_exceptions=True  # Don't fail parent if children fail
        )
        
        # Process results and handle failures gracefully
        for idx, (original_value, _) in enumerate(child_futures):
            result = completed[idx]
            
            if isinstance(result, Exception):
                error_info = {
                    "value": original_value,
                    "error": str(result),
                    "type": type(result).__name__
                }
                errors.append(error_info)
                workflow.logger.error(f"Child workflow for value {original_value} failed: {result}")
            else:
                success_info = {
                    "value": original_value,
                    "result": result
                }
                results.append(success_info)
                workflow.logger.info(f"Child workflow for value {original_value} succeeded: {result}")
        
        # Return comprehensive results
        return {
            "total_children": len(values),
            "successful_results": results,
            "failed_children": errors,
            "success_count": len(results),
            "failure_count": len(errors),
            "success_rate": len(results) / len(values) if values else 0
        }


LabParentWorkflow = ParentWorkflow
LabChildWorkflow = ChildWorkflow
