"""A team's own child types, from plugins: the example plugin (tests/example_plugin, installed by `make test`)
run end to end from a slash command through the real bot and real workers on their own task queues; what
the bot offers, read from Temporal; mistakes in plugins (a clash, an import error: one start-up line from
worker.py, exit 2; a workflow that is not deterministic: its run reports the sandbox's error)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any

import pytest
from fanout_example.countdown import CountdownWorkflow
from temporalio.client import Client
from temporalio.worker import Worker

from bot.catalog import ServedChildTypes
from devkit.fake_slack.web_api import FakeSlack, PostedMessage, SlackLimits
from runtime.config import ConfigError
from runtime.plugins import GROUP, announcement_problem, load_plugins
from runtime.worker import WORKFLOW_RUNNER, WORKFLOWS, plugin_workers
from tests.conftest import BotUnderTest, serve_bot, settings_for_tests
from tests.slack_asks import click_in_modal, command, details_modal, modal_text, new_channel, send, text_of
from workflows.plugin import MAX_RESULT_BYTES, ChildType, result_problem

ROOT = Path(__file__).resolve().parents[1]


@contextlib.asynccontextmanager
async def workers(client: Client, queue: str, children: list[ChildType]) -> AsyncIterator[None]:
    """worker.py's workers, in this process: the fan-out queue's and one per child type."""
    async with contextlib.AsyncExitStack() as stack:
        for worker in [Worker(client, task_queue=queue, workflows=WORKFLOWS, workflow_runner=WORKFLOW_RUNNER),
                       *plugin_workers(client, queue, children)]:
            await stack.enter_async_context(worker)
        yield


@pytest.fixture
async def team_bot(client: Client, temporal_address: str, tmp_path: Path,
                   monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[BotUnderTest]:
    from fanout_example.broken import WallClockWorkflow

    monkeypatch.setenv("FANOUT_EXAMPLE_DIR", str(tmp_path / "files"))
    monkeypatch.setenv("FANOUT_EXAMPLE_FLAKY", "5")
    queue = f"plugins-{uuid.uuid4().hex[:8]}"
    children = [*load_plugins(), ChildType("wall-clock", "reads the wall clock (not deterministic)",
                                           workflow=WallClockWorkflow)]
    async with FakeSlack(limits=SlackLimits.scaled(20)) as fake, workers(client, queue, children), \
            serve_bot(settings_for_tests(fake.base_url, queue), fake, temporal_address) as bot:
        served = bot.bot.ops.child_types  # type: ignore[attr-defined]
        for _ in range(100):  # the bot reads the team's types once each type's pollers have registered
            if {c.name for c in children} <= {c.name for c in await served.fresh(max_age_s=0.1)}:
                break
            await asyncio.sleep(0.1)
        yield bot


def lines_of(record: dict[str, Any]) -> list[str]:
    """A Details page's children: the sections with a Story button or a value first."""
    texts = [str((b.get("text") or {}).get("text", "")) for b in record["view"]["blocks"] if b["type"] == "section"]
    return [t for t in texts if t.startswith("*") and t[1:].lstrip("-")[:1].isdigit()]


def summaries(fake: FakeSlack, channel: str) -> list[PostedMessage]:
    return [m for m in fake.messages(channel) if (m.metadata or {}).get("event_type") == "fanout_summary"]


async def summary_in(fake: FakeSlack, channel: str, timeout: float = 45) -> tuple[dict[str, Any], str]:
    await fake.wait_for(lambda: summaries(fake, channel), timeout=timeout)
    [summary] = summaries(fake, channel)
    return summary.metadata["event_payload"], json.dumps(summary.blocks, ensure_ascii=False)  # type: ignore[index]


async def test_an_activity_child_writes_one_file_per_value_and_a_retry_never_writes_twice(
        team_bot: BotUnderTest, client: Client, tmp_path: Path):
    fake, channel = team_bot.fake, new_channel()
    assert "write-file" in text_of(await command(team_bot, "help", channel))
    await send(team_bot, "1-6 -3 --child write-file --retries 2", channel)
    payload, shown = await summary_in(fake, channel)
    assert payload["success_count"] == 6 and payload["failure_count"] == 1
    files = tmp_path / "files"
    assert sorted(p.name for p in files.glob("value-*.json")) == [f"value-{v}.json" for v in range(1, 7)]
    # Value 5 failed once after writing (FANOUT_EXAMPLE_FLAKY): its retry found the file, and wrote nothing.
    assert sorted(int(v) for v in (files / "writes.log").read_text().split()) == [1, 2, 3, 4, 5, 6]
    assert '"path": "value-5.json"' in shown or "value-5.json" in shown
    assert "no file for a negative value (-3)" in shown and "NegativeValue" in shown
    run_id = str(payload["workflow_id"])
    handle = client.get_workflow_handle(f"{run_id}-c4")  # value 5: its own child workflow, two attempts
    child = await handle.describe()
    assert child.workflow_type == "PluginChildWorkflow" and child.task_queue.endswith(".child.write-file")
    history = await handle.fetch_history()
    assert sum(e.HasField("activity_task_scheduled_event_attributes") for e in history.events) == 2
    # Its story in the Details modal: its attempts are activities of one run, with a timer between them.
    record = await details_modal(team_bot, run_id, channel)
    retried = await click_in_modal(team_bot, record, "fanout_details_go:retried")
    [line] = lines_of(retried)
    assert line.startswith("*5* ✓ succeeded → {") and "2 attempts" in line
    story = modal_text(await click_in_modal(team_bot, record, "fanout_details_open_child", "4"))
    assert "its attempts are activities inside this one child workflow" in story
    assert "attempt 1 failed after" in story and "_DiskHiccup_: the disk hiccuped after writing value-5.json" in story
    assert "then a 1 s backoff before attempt 2" in story and "attempt 2 succeeded after" in story
    assert "*Final:* succeeded after 2 attempts" in story


async def test_an_activity_child_in_batches_one_activity_per_value_with_the_csv(
        team_bot: BotUnderTest, client: Client, tmp_path: Path):
    fake, channel = team_bot.fake, new_channel()
    await send(team_bot, "1-119 -3 --child write-file --batch 25 --retries 2", channel)
    payload, shown = await summary_in(fake, channel, timeout=90)
    assert (payload["success_count"], payload["failure_count"]) == (119, 1)
    files = tmp_path / "files"
    assert len(list(files.glob("value-*.json"))) == 119
    assert sorted(int(v) for v in (files / "writes.log").read_text().split()) == list(range(1, 120))  # once each
    run_id = str(payload["workflow_id"])
    batch = await client.get_workflow_handle(f"{run_id}-b0").describe()  # values 1-25
    assert batch.workflow_type == "PluginBatchWorkflow" and batch.task_queue.endswith(".child.write-file")
    def csvs() -> list[dict[str, Any]]:
        return [f for f in fake.files if f["channel_id"] == channel and f["filename"].endswith(".csv")]

    await fake.wait_for(csvs, timeout=30)
    [csv_file] = csvs()
    rows = csv_file["content"].decode().splitlines()
    assert len(rows) == 121 and '5,succeeded,"{""bytes"":26,""path"":""value-5.json""}",,2' in rows  # 2 attempts
    assert rows[-1].startswith("-3,failed,,no file for a negative value (-3),1")


async def test_a_workflow_child_and_a_child_that_is_not_deterministic(team_bot: BotUnderTest):
    fake, channel = team_bot.fake, new_channel()
    await send(team_bot, "1 2 11 --child countdown", channel)
    payload, shown = await summary_in(fake, channel)
    assert (payload["success_count"], payload["failure_count"]) == (2, 1) and "11 is too far to count down" in shown
    other = new_channel()
    await send(team_bot, "1 2 --child wall-clock", other)  # refused by the sandbox at its first run: no hang
    payload, shown = await summary_in(fake, other)
    assert payload["failure_count"] == 2 and "RestrictedWorkflowAccessError" in shown


async def test_a_run_of_a_teams_child_type_is_cancelled_like_any_run(team_bot: BotUnderTest, client: Client):
    fake, channel = team_bot.fake, new_channel()
    await send(team_bot, "8 9 10 --child countdown", channel)
    await fake.wait_for(lambda: fake.messages(channel), timeout=15)
    run_id = str(fake.messages(channel)[0].metadata["event_payload"]["workflow_id"])  # type: ignore[index]
    answer = text_of(await command(team_bot, f"cancel {run_id}", channel))
    assert "Cancel" in answer, answer
    payload, shown = await summary_in(fake, channel)
    assert payload["success_count"] == 0 and "Cancelled by <@U1>" in shown
    child = await client.get_workflow_handle(f"{run_id}-c0").describe()
    assert child.status is not None and child.status.name == "CANCELED"


async def test_the_terminal_cli_runs_a_teams_child_type(team_bot: BotUnderTest, temporal_address: str,
                                                      tmp_path: Path):
    from tests.entrypoints import PYTHON, child_env, run

    queue = team_bot.bot.settings.task_queue  # type: ignore[attr-defined]
    env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=queue)
    code, out, err = await run([PYTHON, "-m", "bot.cli", "--json", "7", "8", "--child", "write-file"], env)
    assert code == 0, err
    result = json.loads(out)
    assert result["success_count"] == 2 and (tmp_path / "files" / "value-8.json").exists()
    code, out, _ = await run([PYTHON, "-m", "bot.cli", "help"], env)
    assert code == 0 and "write-file" in out and "writes one JSON file per value" in out


async def test_a_child_type_no_worker_serves_is_refused_before_anything_starts(
        fake_slack: FakeSlack, client: Client, temporal_address: str):
    queue = f"plain-{uuid.uuid4().hex[:8]}"  # workers without the plugin
    async with workers(client, queue, []), \
            serve_bot(settings_for_tests(fake_slack.base_url, queue), fake_slack, temporal_address) as bot:
        channel = new_channel()
        answer = text_of(await command(bot, "1-3 --child write-file", channel))
        assert "No worker serves the child type `write-file`" in answer and "double | square" in answer
        assert "write-file" not in text_of(await command(bot, "help", channel))
        assert fake_slack.messages(channel) == []


async def test_many_child_types_are_announced_within_temporals_identity_limit(client: Client):
    """Temporal refuses a poller identity over 1,000 characters: names and details are announced apart."""
    from fanout_example import write_value_file

    queue = f"many-{uuid.uuid4().hex[:8]}"
    children = [ChildType(f"type-{i:02d}", f"{i}: " + "a long description " * 7, activity=write_value_file)
                for i in range(8)]
    assert announcement_problem(children, queue) is None
    async with workers(client, queue, children):
        served = ServedChildTypes(lambda: asyncio.sleep(0, client), queue)
        for _ in range(50):
            names = [c.name for c in await served.fresh() if not c.lab]
            if len(names) == 8:
                break
            served._read_at = -1e9  # read again: the pollers register within a moment
            await asyncio.sleep(0.1)
    assert names == [c.name for c in children]
    [first] = [c for c in served.child_types() if c.name == "type-00"]
    assert first.description == children[0].description and first.plugin is not None
    assert first.plugin.task_queue == f"{queue}.child.type-00" and first.plugin.activity == "write_value_file"
    too_many = [ChildType(f"type-with-a-long-name-{i:03d}", "d", activity=write_value_file) for i in range(40)]
    assert "one worker can announce at most 1,000" in str(announcement_problem(too_many, queue))


async def test_a_workflow_module_the_sandbox_refuses_stops_the_worker_with_one_line(client: Client):
    from fanout_example.broken_import import ImportClockWorkflow

    with pytest.raises(ConfigError, match="child type 'clock': the worker refused it"):
        plugin_workers(client, "refused", [ChildType("clock", "reads the clock at import",
                                                     workflow=ImportClockWorkflow)])
    with pytest.raises(ConfigError, match="must be a class decorated with @workflow.defn"):
        load_plugins([EntryPoint("plain", "tests.test_plugins:PLAIN", GROUP)])


class NotAWorkflow:
    pass


PLAIN = ChildType("plain", "not a workflow", workflow=NotAWorkflow)


def test_mistakes_in_plugins_are_one_clear_line() -> None:
    write = EntryPoint("write-file", "fanout_example:WRITE_FILE", GROUP)
    with pytest.raises(ConfigError, match="two child types are named 'write-file'"):
        load_plugins([write, EntryPoint("again", "fanout_example:WRITE_FILE", GROUP)])
    with pytest.raises(ConfigError, match="does not import: ModuleNotFoundError"):
        load_plugins([EntryPoint("gone", "fanout_example_gone:X", GROUP)])
    with pytest.raises(ConfigError, match="not a workflows.plugin.ChildType"):
        load_plugins([EntryPoint("odd", "fanout_example:write_value_file", GROUP)])


CLASH = ChildType("double", "clashes with the lab's", workflow=CountdownWorkflow)


def test_a_clash_with_the_labs_child_types_is_refused() -> None:
    with pytest.raises(ConfigError, match="the lab's own child types"):
        load_plugins([EntryPoint("double", "tests.test_plugins:CLASH", GROUP)])


def test_a_plugin_that_fails_to_import_stops_worker_py_with_one_line(tmp_path: Path) -> None:
    """A real installed distribution (its dist-info on the path) whose entry point does not import."""
    info = tmp_path / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{GROUP}]\nbroken = broken_plugin_module:CHILD\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "FANOUT_"))}
    env["PYTHONPATH"] = str(tmp_path)
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert "entry point 'broken'" in line and "does not import: ModuleNotFoundError" in line
    assert "Traceback" not in done.stderr


def test_a_result_is_json_within_its_size_cap() -> None:
    assert result_problem({"path": "value-1.json"}) is None
    assert "not JSON" in str(result_problem({1, 2}))
    assert f"at most {MAX_RESULT_BYTES:,}" in str(result_problem("x" * MAX_RESULT_BYTES))
