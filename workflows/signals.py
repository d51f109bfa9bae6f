"""Telling another workflow something when it may have closed: a batch its parent, a shard its root, a reporter
its run, the user's Home tab or their quota. Nobody there to tell is fine; the signal's failure is logged and
the caller hears False.

Workflow code, imported inside the sandbox by the workflows that use it.
"""

# No `from __future__ import annotations` here: the sandbox re-imports this module for every run that uses it.
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError


async def tell(workflow_id: str, signal: str, *args: Any) -> bool:
    """Signal ``workflow_id``; False when it has closed or never was (Temporal refuses the signal)."""
    try:
        await workflow.get_external_workflow_handle(workflow_id).signal(signal, *args)
    except ApplicationError as err:  # how the SDK reports a refused external signal (not found, closed)
        workflow.logger.info("Signal %s not delivered to %s: %s", signal, workflow_id, err)
        return False
    return True
