"""The workflow sandbox is on for our workflow code: non-deterministic calls are refused, and only
workflows.model (data types, no behaviour) is passed through it.

A module passed through the sandbox is imported once, outside it, and its calls escape the sandbox's
checks (datetime.now() in it just runs); a module imported inside it is re-imported for every run
and checked. So: the runner passes through nothing of ours but workflows.model, no workflow module
passes a behaviour module through, each workflow's sandbox holds its own copy of every behaviour
module it uses, and — on the real dev server — workflow code reading the clock, the global random
generator or a file fails its workflow task with RestrictedWorkflowAccessError.
"""

from __future__ import annotations

import ast
import asyncio
import sys
import types
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker.workflow_sandbox._restrictions import RestrictedModule, _RestrictionState

from tests.sandbox_probe import PROBES, ClockProbe, DispatchClockProbe, FileProbe, RandomProbe
from worker import WORKFLOW_RUNNER, WORKFLOWS

WORKFLOWS_DIR = Path(__file__).resolve().parent.parent / "workflows"
PASSED_THROUGH = {"workflows.model"}  # dataclasses and constants only
BEHAVIOUR_MODULES = {f"workflows.{p.stem}" for p in WORKFLOWS_DIR.glob("*.py") if p.stem != "__init__"} - PASSED_THROUGH


def configured_passthrough(restrictions: SandboxRestrictions, name: str) -> bool:
    """The sandbox's rule: a module passes through if it or any package above it is listed."""
    parts = name.split(".")
    return restrictions.passthrough_all_modules or any(
        ".".join(parts[:i]) in restrictions.passthrough_modules for i in range(1, len(parts) + 1))


# -- configuration ----------------------------------------------------------------------------------

def test_runner_passes_through_only_the_data_model() -> None:
    restrictions = WORKFLOW_RUNNER.restrictions
    assert isinstance(WORKFLOW_RUNNER, SandboxedWorkflowRunner)
    assert restrictions.passthrough_modules - SandboxRestrictions.default.passthrough_modules == PASSED_THROUGH
    assert not restrictions.passthrough_all_modules
    assert restrictions.invalid_module_members == SandboxRestrictions.default.invalid_module_members
    assert BEHAVIOUR_MODULES >= {"workflows.dispatch", "workflows.fanin", "workflows.work", "workflows.rules",
                                 "workflows.values", "workflows.parent", "workflows.child", "workflows.batch"}
    assert not [m for m in BEHAVIOUR_MODULES | {"workflows"} if configured_passthrough(restrictions, m)]


def passed_through_in(path: Path) -> list[str]:
    """Modules imported inside ``with workflow.unsafe.imports_passed_through():`` blocks."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, (ast.With, ast.AsyncWith)):
            continue
        if not any(isinstance(item.context_expr, ast.Call) and isinstance(item.context_expr.func, ast.Attribute)
                   and item.context_expr.func.attr == "imports_passed_through" for item in node.items):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Import):
                names += [alias.name for alias in inner.names]
            elif isinstance(inner, ast.ImportFrom):
                names.append(inner.module or "")
                names += [f"{inner.module}.{alias.name}" for alias in inner.names]  # `from workflows import x`
    return names


def test_no_workflow_module_passes_a_behaviour_module_through() -> None:
    blocks = {p.name: passed_through_in(p) for p in sorted(WORKFLOWS_DIR.glob("*.py"))}
    leaks = {name: [m for m in mods if m in BEHAVIOUR_MODULES or m == "workflows"] for name, mods in blocks.items()}
    assert not {name: mods for name, mods in leaks.items() if mods}, leaks


def test_the_block_check_sees_a_passed_through_module(tmp_path: Path) -> None:
    # What the workflow modules did before the sandbox was switched back on.
    source = tmp_path / "leaky.py"
    source.write_text("from temporalio import workflow\n\nwith workflow.unsafe.imports_passed_through():\n"
                      "    from workflows.work import run_one\n    import workflows.values\n")
    assert passed_through_in(source) == ["workflows.work", "workflows.work.run_one", "workflows.values"]


# -- what each workflow's sandbox holds --------------------------------------------------------------

SANDBOXES: dict[str, dict[str, types.ModuleType]] = {}


class RecordingRunner(SandboxedWorkflowRunner):
    """WORKFLOW_RUNNER's restrictions; records the modules of each sandbox it creates."""

    def create_instance(self, det: Any) -> Any:
        instance = super().create_instance(det)
        SANDBOXES[det.defn.name] = dict(instance.importer.new_modules)
        return instance


def sandbox_of(cls: type) -> tuple[set[str], set[str]]:
    """(modules re-imported inside the sandbox, modules shared with the host) for one run of cls."""
    runner = RecordingRunner(restrictions=WORKFLOW_RUNNER.restrictions)
    defn = workflow._Definition.must_from_class(cls)
    runner.prepare_workflow(defn)  # creates one sandboxed instance, as for a run
    reimported, shared = set(), set()
    for name, mod in SANDBOXES[defn.name].items():
        if name == "__main__":  # the sandbox's own empty stand-in
            continue
        if isinstance(mod, RestrictedModule):  # a guarded view of a module (datetime, random...)
            mod = _RestrictionState.from_proxy(mod).obj
        (shared if mod is sys.modules.get(name) else reimported).add(name)
    return reimported, shared


@pytest.mark.parametrize("cls", WORKFLOWS, ids=[w.__name__ for w in WORKFLOWS])
async def test_each_workflow_gets_its_own_behaviour_modules(cls: type) -> None:
    reimported, shared = sandbox_of(cls)
    ours_shared = {m for m in shared if m.split(".")[0] == "workflows"}
    assert ours_shared <= PASSED_THROUGH, ours_shared
    assert cls.__module__ in reimported
    # Nothing else is re-imported per run: third-party and standard modules are shared (and guarded).
    assert all(m.split(".")[0] == "workflows" for m in reimported), reimported


async def test_a_run_reimports_only_the_modules_it_needs() -> None:
    # The sandbox's cost per child is re-importing these (~2 ms of worker CPU): keep them few and small.
    from workflows.child import BatchWorkflow, ChildWorkflow, SquareChildWorkflow
    from workflows.parent import ParentWorkflow

    assert sandbox_of(ChildWorkflow)[0] == {"workflows", "workflows.double", "workflows.work", "workflows.rules"}
    assert sandbox_of(SquareChildWorkflow)[0] == {"workflows", "workflows.square", "workflows.work", "workflows.rules"}
    assert sandbox_of(BatchWorkflow)[0] == {"workflows", "workflows.batch", "workflows.work", "workflows.rules"}
    assert sandbox_of(ParentWorkflow)[0] >= {"workflows.parent", "workflows.dispatch", "workflows.fanin",
                                              "workflows.values", "workflows.work", "workflows.rules"}


# -- on the real dev server ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
async def probe_queue(client: Client) -> Any:
    queue = f"sandbox-probe-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=PROBES, workflow_runner=WORKFLOW_RUNNER):
        yield queue


async def first_workflow_task_failure(client: Client, workflow_id: str) -> Any:
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(100):
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
                return event.workflow_task_failed_event_attributes.failure
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                raise AssertionError(f"{workflow_id} completed: the sandbox let it through")
        await asyncio.sleep(0.1)
    raise AssertionError(f"no workflow task failure in {workflow_id}")


@pytest.mark.parametrize(("probe", "refused"), [
    (ClockProbe, "datetime.datetime.now"),
    (RandomProbe, "random.random"),
    (FileProbe, "__builtins__.open"),
    (DispatchClockProbe, "datetime.datetime.now"),  # through workflows.dispatch: it is not passed through
], ids=["datetime.now", "random.random", "open", "dispatch.datetime.now"])
async def test_non_deterministic_calls_fail_the_workflow_task(client: Client, probe_queue: str, probe: Any,
                                                              refused: str) -> None:
    handle = await client.start_workflow(probe.run, id=f"probe-{uuid.uuid4().hex[:8]}", task_queue=probe_queue)
    try:
        failure = await first_workflow_task_failure(client, handle.id)
    finally:
        await handle.terminate("sandbox probe")
    assert failure.application_failure_info.type == "RestrictedWorkflowAccessError", failure
    assert failure.message.startswith(f"Cannot access {refused}"), failure.message


async def test_the_same_calls_escape_when_passed_through(client: Client) -> None:
    # The control: the runner this project had (workflows passed through), the probes' own module too.
    # datetime.now() then just runs, in the probe and through workflows.dispatch alike.
    leaky = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "tests.sandbox_probe"))
    queue = f"sandbox-leaky-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockProbe, DispatchClockProbe], workflow_runner=leaky):
        for probe in (ClockProbe, DispatchClockProbe):
            stamp = await asyncio.wait_for(client.execute_workflow(
                probe.run, id=f"leaky-{uuid.uuid4().hex[:8]}", task_queue=queue), 30)
            assert stamp[:4].isdigit()
