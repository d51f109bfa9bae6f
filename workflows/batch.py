"""BatchWorkflow: a batch of values in one child workflow (the lab's "dynamic child spawning").
Declared alone in this module because the sandbox re-imports it for every batch; the work is
workflows.work.run_batch."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.model import BatchInput, BatchOutput
    from workflows.work import run_batch


@workflow.defn
class BatchWorkflow:
    """Processes a batch of values; returns a compact BatchOutput (as a plain dict, see
    workflows.work.as_payload), retrying failed values in rounds up to ``max_attempts``."""

    @workflow.run
    async def run(self, input: BatchInput) -> BatchOutput:
        return await run_batch(input)  # type: ignore[no-any-return]
