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

from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS
from tests.sandbox_probe import PROBES, ClockProbe, FileProbe, ParentModuleClockProbe, RandomProbe

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
    assert BEHAVIOUR_MODULES >= {"workflows.fanin", "workflows.work", "workflows.rules", "workflows.signals",
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
    from workflows.batch import BatchWorkflow
    from workflows.child import ChildWorkflow
    from workflows.parent import ParentWorkflow
    from workflows.square import SquareChildWorkflow

    assert sandbox_of(ChildWorkflow)[0] == {"workflows", "workflows.child", "workflows.work", "workflows.rules"}
    assert sandbox_of(SquareChildWorkflow)[0] == {"workflows", "workflows.square", "workflows.work", "workflows.rules"}
    assert sandbox_of(BatchWorkflow)[0] == {"workflows", "workflows.batch", "workflows.rules", "workflows.signals"}
    # A parent starts its children by name: none of their modules (nor a team's) is imported for every run.
    assert sandbox_of(ParentWorkflow)[0] == {"workflows", "workflows.parent", "workflows.fanin",
                                              "workflows.values", "workflows.rules", "workflows.signals"}


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
    (ParentModuleClockProbe, "datetime.datetime.now"),  # through workflows.parent: it is not passed through
], ids=["datetime.now", "random.random", "open", "parent.datetime.now"])
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
    # datetime.now() then just runs, in the probe and through workflows.parent alike.
    leaky = SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "tests.sandbox_probe"))
    queue = f"sandbox-leaky-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ClockProbe, ParentModuleClockProbe], workflow_runner=leaky):
        for probe in (ClockProbe, ParentModuleClockProbe):
            stamp = await asyncio.wait_for(client.execute_workflow(
                probe.run, id=f"leaky-{uuid.uuid4().hex[:8]}", task_queue=queue), 30)
            assert stamp[:4].isdigit()


# -- bytecode -----------------------------------------------------------------------------------------

PROBE_PACKAGE = '''
from temporalio import workflow

from {pkg}.helper import twice


@workflow.defn(name="{name}")
class BytecodeProbe:
    @workflow.run
    async def run(self, value: int) -> int:
        return twice(value)
'''


async def test_the_worker_caches_the_bytecode_the_sandbox_would_compile_per_run(
        client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A workflow package with no .pyc, in a process that writes none (PYTHONDONTWRITEBYTECODE, as in our image):
    # every run's sandbox compiles its modules from source again, until runtime.worker.cache_bytecode has written them.
    from runtime.worker import cache_bytecode

    pkg = f"bytecode_probe_{uuid.uuid4().hex[:8]}"
    (tmp_path / pkg).mkdir()
    (tmp_path / pkg / "__init__.py").write_text("")
    (tmp_path / pkg / "helper.py").write_text("def twice(value: int) -> int:\n    return 2 * value\n")
    (tmp_path / pkg / "wf.py").write_text(PROBE_PACKAGE.format(pkg=pkg, name=pkg))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = __import__(f"{pkg}.wf", fromlist=["BytecodeProbe"]).BytecodeProbe
    compiled: list[str] = []
    real_compile = compile

    def counting_compile(source: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
        if str(filename).startswith(str(tmp_path)):
            compiled.append(Path(str(filename)).name)
        return real_compile(source, filename, *args, **kwargs)

    monkeypatch.setattr("builtins.compile", counting_compile)
    queue = f"sandbox-bytecode-{uuid.uuid4().hex[:8]}"

    async def compiles_in_one_run(value: int) -> list[str]:
        compiled.clear()
        result = await asyncio.wait_for(client.execute_workflow(
            probe.run, value, id=f"{pkg}-{value}", task_queue=queue), 30)
        assert result == 2 * value
        return sorted(set(compiled))

    async with Worker(client, task_queue=queue, workflows=[probe], workflow_runner=WORKFLOW_RUNNER):
        assert await compiles_in_one_run(1) == ["__init__.py", "helper.py", "wf.py"]
        assert not (tmp_path / pkg / "__pycache__").exists()
        cache_bytecode([probe])
        assert await compiles_in_one_run(2) == []
    assert {p.name.split(".")[0] for p in (tmp_path / pkg / "__pycache__").iterdir()} == {"__init__", "helper", "wf"}
