"""The worker service: runs ParentWorkflow and its children on FANOUT_TASK_QUEUE.

    python worker.py        (the top-level worker.py runs main() here)

Run as many as you like on the same task queue (``docker-compose up --scale worker=3``): Temporal
spreads the workflow tasks over them. Connection settings come from the environment (runtime.temporal).
With FANOUT_METRICS_PORT set, the Temporal SDK's metrics are served for Prometheus at
``http://FANOUT_METRICS_HOST:FANOUT_METRICS_PORT/metrics`` (host default 127.0.0.1).

Child types of installed plugins (entry points ``fanout.children``, runtime.plugins) are served too, each
on its own task queue; a plugin that does not load stops the worker at start.

Stops cleanly on SIGTERM/SIGINT: the worker finishes in-flight workflow tasks, logs "worker stopped"
and exits 0. While Temporal cannot be reached it keeps trying to start (runtime.serving). Configuration
problems (a namespace that does not exist, missing search attributes, a plugin that does not load) print one
line and exit 2.
"""

from __future__ import annotations

import asyncio
import compileall
import inspect
import logging
import os
import signal
import sys

from temporalio.client import Client
from temporalio.worker import PollerBehaviorSimpleMaximum, Worker
from temporalio.worker.workflow_sandbox import (
    RestrictedWorkflowAccessError,
    SandboxedWorkflowRunner,
    SandboxRestrictions,
)
from temporalio.workflow import NondeterminismError

from runtime.config import ConfigError, metrics_bind_address, task_queue
from runtime.logs import run_service
from runtime.plugins import (
    announcement_problem,
    catalog_activity,
    catalog_queue,
    child_queue,
    details_identity,
    load_plugins,
    names_identity,
)
from runtime.serving import ServedWorkers
from runtime.temporal import TemporalUnavailable, connect, connect_config, describe, process_runtime
from workflows.batch import BatchWorkflow
from workflows.child import ChildWorkflow
from workflows.parent import ParentWorkflow
from workflows.plugin import ChildType, PluginBatchWorkflow, PluginChildWorkflow
from workflows.square import SquareChildWorkflow

WORKFLOWS = [ParentWorkflow, ChildWorkflow, SquareChildWorkflow, BatchWorkflow]
log = logging.getLogger("fanout.worker")


# The sandbox re-imports a workflow's modules for every run (every child) and refuses non-deterministic
# calls in them (datetime.now(), random.random(), open(), ...). A module passed through is imported once
# and shared, and its calls escape those checks, so only workflows.model is: dataclasses and constants,
# no behaviour, no state. Every module that *does* something (workflows.parent, fanin, work, rules,
# values, the workflow modules) runs inside the sandbox (tests/test_sandbox.py checks both).
WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows.model"))


def cache_bytecode(workflow_classes: list[type]) -> None:
    """Write the bytecode of the workflows' modules (their package's, for a module in a package) where it is
    missing or stale. The sandbox imports those modules afresh for every run, every child; with no .pyc beside
    them (PYTHONDONTWRITEBYTECODE, set in many images) each import compiles the source again: about 1.3 ms of
    worker CPU per child here, a quarter of a child's cost. Unwritable directories are left as they are (the
    image compiles at build time)."""
    for where in sorted({_source_home(cls) for cls in workflow_classes}):
        if where.endswith(".py"):
            compileall.compile_file(where, quiet=2)
        else:
            compileall.compile_dir(where, maxlevels=0, quiet=2)


def _source_home(cls: type) -> str:
    module = sys.modules[cls.__module__]
    path = inspect.getfile(cls)
    return os.path.dirname(path) if getattr(module, "__package__", "") else path


# A team's workflow that is not deterministic (the sandbox refuses what it calls, or its replay differs)
# fails its run instead of retrying its workflow task forever: the run reports that child's error.
PLUGIN_FAILURES: list[type[BaseException]] = [RestrictedWorkflowAccessError, NondeterminismError]


# Workflow task polls kept open on the run queue (the SDK's default is 5). With more waiting, the server hands a
# parent's and its children's tasks straight to a poll instead of writing them to the queue first: 1,000 children
# ran 6 % faster with 20 (10.6 vs 11.3 s, 3 rounds each, python -m bench.ceiling), and the server worked less.
WORKFLOW_TASK_POLLS = 20


def build_worker(client: Client, queue: str) -> Worker:
    return Worker(client, task_queue=queue, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER,
                  workflow_task_poller_behavior=PollerBehaviorSimpleMaximum(WORKFLOW_TASK_POLLS))


def plugin_workers(client: Client, queue: str, children: list[ChildType]) -> list[Worker]:
    """One worker per child type a plugin adds, on its own task queue, and the catalog poller that
    tells the bot about them (runtime.plugins). None without plugins."""
    if not children:
        return []
    workers = []
    for c in children:
        try:  # the sandbox checks a workflow's module when the worker is made
            workers.append(Worker(client, task_queue=child_queue(queue, c.name),
                                  workflows=[c.workflow] if c.workflow else [PluginChildWorkflow, PluginBatchWorkflow],
                                  activities=[c.activity] if c.activity else [], workflow_runner=WORKFLOW_RUNNER,
                                  workflow_failure_exception_types=PLUGIN_FAILURES))
        except Exception as err:  # the SDK refuses a team's workflow in many ways (its sandbox check above all)
            raise ConfigError(f"child type {c.name!r}: the worker refused it: {type(err).__name__}: {err}") from None
    announcers = [(catalog_queue(queue), names_identity(children))]
    announcers += [(catalog_queue(queue, c.name), details_identity(c, queue)) for c in children]
    workers += [Worker(client, task_queue=where, activities=[catalog_activity], identity=said,
                       max_concurrent_activities=1) for where, said in announcers]
    return workers


async def run_worker() -> None:
    queue = task_queue()
    children = load_plugins()  # before connecting: a broken plugin is a start-up error
    if problem := announcement_problem(children, queue):
        raise ConfigError(f"plugins: {problem}")
    cache_bytecode([*WORKFLOWS, *(c.workflow for c in children if c.workflow)])
    config = connect_config()
    runtime = process_runtime(metrics=True)  # binds the metrics port now: a taken port fails before connecting
    if metrics_bind_address() is not None:
        log.info("metrics for Prometheus on http://%s/metrics", metrics_bind_address())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info("connecting to Temporal at %s", describe(config))

    def build(client: Client) -> list[Worker]:
        return [build_worker(client, queue), *plugin_workers(client, queue, children)]

    def running() -> None:
        log.info("worker listening on task queue %s", queue)
        if children:
            log.info("child types of plugins: %s", ", ".join(f"{c.name} (queue {child_queue(queue, c.name)})"
                                                              for c in children))

    served = ServedWorkers("the worker", lambda: connect(wait=True, config=config, runtime=runtime), build, running)
    if await served.serve(stop) is None:  # asked to stop before the workers ever ran
        log.info("worker stopped (never started)")
        return
    log.info("worker stopped")


def main() -> None:
    run_service("worker", run_worker, (ConfigError, TemporalUnavailable))


if __name__ == "__main__":
    main()
