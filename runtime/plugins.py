"""A team's child types: loaded by the worker from plugins, announced through Temporal, read back by the bot.

The worker loads every entry point of the group ``fanout.children`` (workflows.plugin.ChildType), refuses
clashing names and entry points that fail to import (one start-up line, exit 2), and serves each type on
its own task queue, ``<fan-out queue>.child.<name>``. It announces what it serves with pollers that never
get a task: Temporal shows a queue's pollers and their identities (``DescribeTaskQueue``) until five
minutes after their last poll. One polls ``<fan-out queue>.catalog`` with the names of the types as its
identity; one per type polls ``<fan-out queue>.catalog.<name>`` with its description and where it runs.
An identity holds at most 1,000 characters, hence the two steps. So the bot knows which child types some
worker serves right now without importing any team's code, and a type no worker serves is refused at
the command.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from temporalio import activity, workflow
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from runtime.config import ConfigError
from runtime.temporal import RPC_TIMEOUT
from workflows.model import ChildPlugin
from workflows.plugin import ChildType, PluginChildWorkflow
from workflows.rules import CHILD_TYPES

log = logging.getLogger("fanout.plugins")
CHILD_NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")  # a child type's name (also in its task queue's name)

GROUP = "fanout.children"
NAMES_PREFIX = "fanout-children:"
DETAILS_PREFIX = "fanout-child:"
IDENTITY_MAX = 1000  # Temporal refuses a longer poller identity (limit.maxIDLengthLimit)
DESCRIPTION_MAX = 150


def child_queue(fanout_queue: str, name: str) -> str:
    return f"{fanout_queue}.child.{name}"


def catalog_queue(fanout_queue: str, name: str = "") -> str:
    """The queue whose pollers name the types a worker serves, or (with ``name``) describe one of them."""
    return f"{fanout_queue}.catalog" + (f".{name}" if name else "")


def load_plugins(found: list[EntryPoint] | None = None) -> list[ChildType]:
    """Every child type installed plugins add; ConfigError (one line) for any mistake in them."""
    loaded: dict[str, tuple[ChildType, str]] = {}
    for point in found if found is not None else list(entry_points(group=GROUP)):
        where = f"entry point {point.name!r} ({point.value}) of group {GROUP}"
        try:
            child = point.load()
        except Exception as err:  # a plugin's own import error: said in one line, not a traceback
            raise ConfigError(f"{where} does not import: {type(err).__name__}: {err}") from None
        problem = _problem(child)
        if problem:
            raise ConfigError(f"{where}: {problem}")
        clash = loaded.get(child.name)
        if clash or child.name in CHILD_TYPES:
            other = f"{clash[1]}" if clash else "the lab's own child types"
            raise ConfigError(f"two child types are named {child.name!r}: {where} and {other}; rename one")
        loaded[child.name] = (child, where)
    return [child for child, _ in loaded.values()]


def _problem(child: object) -> str | None:
    if not isinstance(child, ChildType):
        return f"is a {type(child).__name__}, not a workflows.plugin.ChildType"
    if CHILD_NAME.fullmatch(child.name) is None:
        return f"the name {child.name!r} is not lowercase letters, digits, '-' and '_' (at most 40, a letter first)"
    if (child.activity is None) == (child.workflow is None):
        return f"child type {child.name!r} needs exactly one of activity= or workflow="
    if child.activity is not None and activity._Definition.from_callable(child.activity) is None:
        return f"child type {child.name!r}: activity= must be a function decorated with @activity.defn"
    if child.workflow is not None and workflow._Definition.from_class(child.workflow) is None:
        return f"child type {child.name!r}: workflow= must be a class decorated with @workflow.defn"
    if not child.description.strip() or len(child.description) > DESCRIPTION_MAX:
        return f"child type {child.name!r} needs a one-line description of at most {DESCRIPTION_MAX} characters"
    return None


def plugin_of(child: ChildType, fanout_queue: str) -> ChildPlugin:
    """Where the parent starts a value of this type."""
    queue = child_queue(fanout_queue, child.name)
    # The SDK keeps the registered names on its definitions (no public accessor): checked by _problem.
    if child.activity is not None:
        return ChildPlugin(queue, PluginChildWorkflow.__name__,
                           str(activity._Definition.must_from_callable(child.activity).name))
    assert child.workflow is not None
    return ChildPlugin(queue, str(workflow._Definition.must_from_class(child.workflow).name))


def names_identity(children: list[ChildType]) -> str:
    """The catalog poller's identity: the names of the child types this worker serves."""
    return NAMES_PREFIX + ",".join(c.name for c in children)


def details_identity(child: ChildType, fanout_queue: str) -> str:
    """The poller identity of a type's own catalog queue: its description and where it runs, as JSON."""
    return DETAILS_PREFIX + json.dumps({"name": child.name, "description": child.description,
                                        **vars(plugin_of(child, fanout_queue))}, separators=(",", ":"))


def announcement_problem(children: list[ChildType], fanout_queue: str) -> str | None:
    """Why these types cannot be announced within Temporal's limit on an identity, or None."""
    if len(names_identity(children)) > IDENTITY_MAX:
        return (f"the names of {len(children)} child types take {len(names_identity(children)):,} characters; "
                f"one worker can announce at most {IDENTITY_MAX:,} (shorter names, or fewer types per worker)")
    long = next((c for c in children if len(details_identity(c, fanout_queue)) > IDENTITY_MAX), None)
    if long is not None:
        return (f"child type {long.name!r}: its description and workflow/activity names are too long to "
                f"announce (at most {IDENTITY_MAX:,} characters with its task queue's name)")
    return None


@activity.defn(name="fanout_catalog")
async def catalog_activity() -> None:
    """Never scheduled: a catalog queue needs something to poll for."""


@dataclass(frozen=True)
class AnnouncedChildType:
    """A child type some worker announces: what ``--child`` takes, its description, and where it runs."""

    name: str
    description: str
    plugin: ChildPlugin


async def announced_child_types(client: Client, fanout_queue: str) -> list[AnnouncedChildType]:
    """The child types some worker announces now, by name (a poller stays listed for five minutes after its
    last poll). Raises what Temporal raises (RPCError)."""
    names = sorted({name for identity in await _identities(client, catalog_queue(fanout_queue))
                    if identity.startswith(NAMES_PREFIX)
                    for name in identity[len(NAMES_PREFIX):].split(",") if CHILD_NAME.fullmatch(name)})
    details = await asyncio.gather(*(_identities(client, catalog_queue(fanout_queue, name)) for name in names))
    return [child for name, identities in zip(names, details, strict=True)
            if (child := _announced(name, identities)) is not None]


async def _identities(client: Client, queue: str) -> list[str]:
    response = await client.workflow_service.describe_task_queue(DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY), timeout=RPC_TIMEOUT)
    return [poller.identity for poller in response.pollers]


def _announced(name: str, identities: list[str]) -> AnnouncedChildType | None:
    for identity in identities:
        if not identity.startswith(DETAILS_PREFIX):
            continue
        try:
            c = json.loads(identity[len(DETAILS_PREFIX):])
            if c["name"] == name:
                return AnnouncedChildType(name, str(c["description"]), ChildPlugin(str(c["task_queue"]),
                                                                                str(c["workflow"]),
                                                                                str(c["activity"])))
        except (ValueError, KeyError, TypeError):
            log.warning("a catalog poller's identity is not one /fanout wrote: %.80s", identity)
    return None
