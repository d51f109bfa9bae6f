"""The terminal CLI end to end: ``python -m bot.cli`` as a real process against the session's dev server.

The ``task_queue`` fixture's worker runs inside pytest's event loop, so the CLI runs via asyncio subprocesses.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.conftest import BotUnderTest
from tests.entrypoints import PYTHON, child_env, free_port, run

CLI = [PYTHON, "-m", "bot.cli"]


def cli_env(temporal_address: str, task_queue: str) -> dict[str, str]:
    return child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=task_queue)


async def test_run_prints_the_summary(temporal_address: str, task_queue: str) -> None:
    code, out, err = await run([*CLI, "1", "2", "3", "4", "5"], cli_env(temporal_address, task_queue))
    assert code == 0, err
    assert "Partial success" in out
    assert "60%" in out
    assert "Simulated failure for value 2" in out and "Simulated failure for value 4" in out
    assert "1 → 2" in out and "5 → 10" in out
    assert "[Retry failed" not in out and "*" not in out and "<" not in out  # buttons and mrkdwn stay in Slack
    assert "Timeline · wall" in out and "parent" in out and "✗" in out  # the timeline, as text
    assert err.startswith("run fanout-") and "/namespaces/default/workflows/fanout-" in err


async def test_fail_on_failure_sets_the_exit_code(temporal_address: str, task_queue: str) -> None:
    env = cli_env(temporal_address, task_queue)
    code, out, err = await run([*CLI, "--fail-on-failure", "1", "2", "3", "4", "5"], env)
    assert code == 1, err
    assert "Simulated failure for value 2" in out
    code, out, err = await run([*CLI, "1", "3", "5", "--fail-on-failure"], env)
    assert code == 0, err
    assert "All 3 succeeded" in out


async def test_json_output(temporal_address: str, task_queue: str) -> None:
    code, out, err = await run([*CLI, "--json", "1-4", "--fail", "odd"], cli_env(temporal_address, task_queue))
    assert code == 0, err
    result = json.loads(out)
    assert (result["success_count"], result["failure_count"], result["total_children"]) == (2, 2, 4)


async def test_bad_command_line_is_usage_and_exit_2(temporal_address: str, task_queue: str) -> None:
    code, out, err = await run([*CLI, "abc"], cli_env(temporal_address, task_queue))
    assert code == 2 and out == ""
    assert err.startswith("fanout: Unknown command `abc`.")
    assert "usage: fanout" in err and "/fanout" not in err
    code, _, err = await run([*CLI, "1-5", "--retries", "99"], cli_env(temporal_address, task_queue))
    assert code == 2 and "--retries" in err and "usage: fanout" in err


async def test_help(temporal_address: str, task_queue: str) -> None:
    for args in (["help"], ["--help"], ["-h"]):
        code, out, err = await run([*CLI, *args], cli_env(temporal_address, task_queue))
        assert code == 0, err
        assert out.startswith("usage: fanout") and "--fail-on-failure" in out and "fanout status" in out
        assert "/fanout" not in out


async def test_temporal_unreachable_is_one_line_exit_2() -> None:
    env = child_env(TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}")
    code, out, err = await run([*CLI, "1", "2", "3"], env)
    assert code == 2 and out == ""
    assert err.startswith("fanout: Temporal is unreachable right now (127.0.0.1:") and err.count("\n") == 1, err


async def test_no_wait_status_cancel_and_list(temporal_address: str, task_queue: str) -> None:
    env = cli_env(temporal_address, task_queue)
    code, out, err = await run([*CLI, "--no-wait", "1-3", "--delay", "60"], env)
    assert code == 0, err
    run_id = out.strip()
    assert run_id.startswith("fanout-")

    code, out, err = await run([*CLI, "status", run_id], env)
    assert code == 0, err
    assert f"Run `{run_id}`: Running" in out
    assert f"Open in Temporal UI: http://localhost:8233/namespaces/default/workflows/{run_id}\n" in out  # a link

    code, out, err = await run([*CLI, "list"], env)
    assert code == 0, err
    assert any(run_id in line and "cli:" in line and "in a terminal" in line and "1-3 --delay 60" in line
               for line in out.splitlines()), out

    code, out, err = await run([*CLI, "cancel", run_id], env)
    assert code == 0, err
    assert f"Cancelling `{run_id}`" in out

    deadline = time.monotonic() + 30
    while True:
        code, out, err = await run([*CLI, "status", run_id], env)
        if "Cancelled" in out or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    assert code == 0 and f"Run `{run_id}`: Cancelled" in out, out + err

    code, out, err = await run([*CLI, "cancel", run_id], env)
    assert code == 1 and "is not running" in err
    code, out, err = await run([*CLI, "status", "fanout-doesnotexist"], env)
    assert code == 1 and err.startswith("fanout: No run fanout-doesnotexist found in this namespace.") and \
        err.count("\n") == 1, err


async def test_installed_fanout_command(temporal_address: str, task_queue: str) -> None:
    script = Path(PYTHON).parent / "fanout"
    if not script.exists():
        pytest.skip("the fanout script is not installed (pip install -e .)")
    code, out, err = await run([str(script), "help"], cli_env(temporal_address, task_queue))
    assert code == 0 and out.startswith("usage: fanout"), err


async def test_the_terminal_sees_every_run_slack_started_and_acts_through_its_reporter(
        temporal_address: str, task_queue: str, bot: BotUnderTest, client: Client) -> None:
    """status, cancel and list are the operations Slack uses, for the namespace: `list` shows the runs (not their
    shards), with who, where and what; a Slack run is found while it waits for an approval, and cancelled through
    its reporter's update, which records the terminal's user."""
    env = cli_env(temporal_address, task_queue)
    channel = "C" + uuid.uuid4().hex[:9].upper()
    await bot.command("1-3 --delay 60", channel_id=channel)
    await bot.command("1-2 --approve", channel_id=channel)
    await bot.fake.wait_for(lambda: len(bot.fake.messages(channel)) == 2, timeout=15)
    going, waiting = sorted((m for m in bot.fake.messages(channel)), key=lambda m: "approve" in json.dumps(m.blocks))
    going_id = going.metadata["event_payload"]["workflow_id"]  # type: ignore[index]
    waiting_id = waiting.metadata["event_payload"]["workflow_id"]  # type: ignore[index]
    code, out, err = await run([*CLI, "--no-wait", "1-30000", "--batch", "100", "--fail", "none"], env)
    assert code == 0, err
    sharded = out.strip()

    code, out, err = await run([*CLI, "status", waiting_id], env)
    assert code == 0 and f"Run `{waiting_id}`: Waiting for approval" in out, out + err

    for _ in range(60):  # visibility is eventually consistent
        code, out, err = await run([*CLI, "list"], env)
        if all(i in out for i in (going_id, waiting_id, sharded)):
            break
        await asyncio.sleep(0.5)
    lines = out.splitlines()
    [going_line] = [line for line in lines if going_id in line]
    assert f"@U1 in #{channel}" in going_line and "1-3 --delay 60" in going_line, out
    assert [line for line in lines if sharded in line and "in a terminal" in line]
    assert f"{sharded}-s" not in out  # its shards are not runs

    code, out, err = await run([*CLI, "cancel", going_id], env)
    assert code == 0 and f"Cancelling `{going_id}`" in out, out + err
    reporter = await client.get_workflow_handle(f"{going_id}-slack").describe()
    assert (await reporter.memo())["cancelled_by"].startswith("cli:")
    code, out, err = await run([*CLI, "cancel", waiting_id], env)
    assert code == 0 and "Withdrawn" in out, out + err
    await client.get_workflow_handle(sharded).cancel()
