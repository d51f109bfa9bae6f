"""The names Temporal stores are frozen: a running workflow (or a recorded history) names its type, its handlers,
its activities, task queues and ids, memo keys, search attributes and patch ids, and a rename breaks it. They
are listed in tests/stored_names.json; a change here is a decision (pin ``name=`` on whatever moves), not a side
effect."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

from temporalio import activity, workflow

from bot.home import daily_stats, publish
from bot.home.daily_stats import stats_id
from bot.home.tab import home_id
from bot.operations.schedules import PREFIX as SCHEDULE_PREFIX
from bot.queues import GROUPS, activity_queue, workflow_queue
from bot.quota import quota_id
from bot.reporting import activities
from bot.runs.info import RunInfo, reporter_id, run_id_of, to_memo
from bot.workers import BOT_WORKFLOWS
from runtime import plugins
from runtime import search_attributes as sa
from runtime.worker import WORKFLOWS
from workflows.model import CHILD_WORKFLOW_TYPES, DEFAULT_TASK_QUEUE
from workflows.plugin import PluginBatchWorkflow, PluginChildWorkflow

ROOT = Path(__file__).resolve().parents[1]
STORED = Path(__file__).with_name("stored_names.json")


def workflow_names() -> dict[str, Any]:
    out = {}
    for cls in [*WORKFLOWS, PluginChildWorkflow, PluginBatchWorkflow, *BOT_WORKFLOWS]:
        defn = workflow._Definition.must_from_class(cls)
        out[str(defn.name)] = {"signals": sorted(str(n) for n in defn.signals if n),
                               "queries": sorted(str(n) for n in defn.queries if n),
                               "updates": sorted(str(n) for n in defn.updates if n)}
    return dict(sorted(out.items()))


def activity_names() -> list[str]:
    names = set()
    for module in (activities, publish, daily_stats, plugins):
        for value in vars(module).values():
            for candidate in [value, *(vars(value).values() if isinstance(value, type) else [])]:
                if callable(candidate) and (defn := activity._Definition.from_callable(candidate)) is not None:
                    names.add(str(defn.name))
    return sorted(names)


def memo_keys() -> list[str]:
    full = RunInfo("r", "U1", "C1", "t", 1, 1, 1, thread_ts="1.1", retry_of="r0", schedule_id="s")
    keys = set(to_memo(full)) | {"schedule_spec"}  # a schedule's memo adds its spec (bot.operations.schedules)
    for path in ("bot/reporting/reporter.py", "workflows/parent.py"):  # what workflows upsert as they go
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "upsert_memo"
                    and node.args and isinstance(node.args[0], ast.Dict)):
                keys |= {k.value for k in node.args[0].keys if isinstance(k, ast.Constant)}
    return sorted(keys)


def child_id_schemes() -> list[str]:
    source = (ROOT / "workflows" / "parent.py").read_text()
    return sorted(set(re.findall(r'f"\{self\._root_id\}(-[a-z])\{', source)))


def patch_ids() -> list[str]:
    """The ids given to workflow.patched and workflow.deprecate_patch: a history's markers carry them."""
    ids = set()
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "workflows").rglob("*.py")]):
        tree = ast.parse(path.read_text())
        constants = {t.id: node.value.value for node in tree.body if isinstance(node, ast.Assign)
                     and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
                     for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("patched", "deprecate_patch") and node.args):
                arg = node.args[0]
                ids.add(arg.value if isinstance(arg, ast.Constant) else constants[arg.id])  # type: ignore[attr-defined]
    return sorted(ids)


def current() -> dict[str, Any]:
    return {
        "workflows": workflow_names(),
        "child_workflow_types": CHILD_WORKFLOW_TYPES,
        "activities": activity_names(),
        "task_queues": {"fanout": DEFAULT_TASK_QUEUE, "bot": workflow_queue("prod", "T0"),
                        "bot_slack_groups": [activity_queue(workflow_queue("prod", "T0"), g) for g in GROUPS],
                        "child_type": plugins.child_queue(DEFAULT_TASK_QUEUE, "resize"),
                        "catalog": [plugins.catalog_queue(DEFAULT_TASK_QUEUE),
                                    plugins.catalog_queue(DEFAULT_TASK_QUEUE, "resize")]},
        "ids": {"reporter": reporter_id("fanout-abc"), "scheduled_run": run_id_of("fanout-sch-0a-2026-12-04T10:00:00Z"),
                "schedule_prefix": SCHEDULE_PREFIX, "children": child_id_schemes(),
                "quota": quota_id("Q", "U1"), "home": home_id("Q", "U1"), "stats": stats_id("Q", "2026-12-04")},
        "memo_keys": memo_keys(),
        "search_attributes": {key.name: sa.TYPE_NAME for key in sa.ALL},
        "patches": patch_ids(),
    }


def test_names_temporal_stores_are_the_recorded_ones() -> None:
    recorded = json.loads(STORED.read_text())
    assert current() == recorded, ("a name Temporal stores changed: pin the old one with name=, or, if this is a "
                                   "deliberate change with an upgrade note, update tests/stored_names.json")


def test_the_check_sees_what_it_guards() -> None:
    names = current()
    assert {"ParentWorkflow", "ChildWorkflow", "ReporterWorkflow"} <= set(names["workflows"])
    assert "request_cancel" in names["workflows"]["ParentWorkflow"]["signals"]
    assert {"cancel", "decide"} <= set(names["workflows"]["ReporterWorkflow"]["updates"])
    assert {"post_run_message", "post_summary", "record_stats", "fanout_catalog"} <= set(names["activities"])
    assert names["ids"]["children"] == ["-b", "-c", "-s"] and "cancelled_by" in names["memo_keys"]
    assert {"home-and-stats", "bounded-child-starts", "batches-of-10000"} <= set(names["patches"])
