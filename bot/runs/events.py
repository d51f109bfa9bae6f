"""One event of a workflow's history, read alone, whatever the history's size: its first (how a run started: its
input, its attempt, the run before it) or its last (how it ended: its result or its failure)."""

from __future__ import annotations

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    GetWorkflowExecutionHistoryReverseRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from runtime.temporal import RPC_TIMEOUT


async def first_event(client: Client, workflow_id: str, run_id: str = "") -> HistoryEvent:
    """A workflow's first event (no ``run_id``: its latest run's). Raises RPCError (NOT_FOUND: no such workflow,
    or retention removed it)."""
    response = await client.workflow_service.get_workflow_execution_history(
        GetWorkflowExecutionHistoryRequest(namespace=client.namespace, maximum_page_size=1,
                                           execution=WorkflowExecution(workflow_id=workflow_id, run_id=run_id)),
        retry=True, timeout=RPC_TIMEOUT)
    if not response.history.events:
        raise ValueError(f"no history for {workflow_id}")
    return response.history.events[0]


async def last_event(client: Client, workflow_id: str, run_id: str = "") -> HistoryEvent:
    """A workflow's last event so far (no ``run_id``: its latest run's): its close event once it has closed.
    Raises RPCError (NOT_FOUND) as ``first_event`` does."""
    response = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(namespace=client.namespace, maximum_page_size=1,
                                                  execution=WorkflowExecution(workflow_id=workflow_id,
                                                                              run_id=run_id)),
        retry=True, timeout=RPC_TIMEOUT)
    if not response.history.events:
        raise ValueError(f"no history for {workflow_id}")
    return response.history.events[0]


def is_not_found(err: RPCError) -> bool:
    """Temporal has no such workflow: it never existed, or retention removed its history."""
    return err.status == RPCStatusCode.NOT_FOUND
