"""``make dev``'s terminal console, as a newcomer meets it: the real supervisor (devkit.supervisor) on a
pseudo-terminal, its own dev server and worker, and the console typing into the real bot. No traceback,
ever; a run's message ends in its final state; and a run going on when ``make dev`` is interrupted reports
in the next ``make dev``'s console once it finishes."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from tests.test_devstack import Supervisor, dev_env, supervisors  # noqa: F401  (fixtures)

RUN_ID = r"fanout-[0-9a-f]{12}"


def test_the_console_shows_the_run_to_its_final_state_and_never_a_traceback(
        tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor]) -> None:  # noqa: F811
    console = Supervisor(tmp_path, dev_env, bot=True, tty=True)
    supervisors.append(console)
    console.wait_up(children=3)
    console.wait_output(r"fanout> ")
    console.type("/fanout 1-12")  # 10 children or more: the thread gets the timeline picture
    output = console.wait_output(r"Finished: 6 succeeded · 6 failed", timeout_s=60)
    output = console.wait_output(r"timeline of " + RUN_ID, timeout_s=30)
    output = console.wait_output(r"── bot uploads a file ──", timeout_s=30)  # the timeline PNG, after the edit
    assert "bot posts in #CCONSOLE" in output and "Simulated failure for value 2" in output
    assert "success rate 50%" in output and "[Cancel]" in output
    # /fanout details: the modal's content, in the terminal, once the bot has filled it in.
    [run_id] = set(re.findall(RUN_ID, output))
    console.type(f"/fanout details {run_id}")
    output = console.wait_output(r"Children · all · 1–12 of 12")
    assert "the bot shows you a modal (only you see it)" in output and "── Run details ──" in output
    assert "ran `/fanout 1-12` in #CCONSOLE" in output and "2 ✗ failed · 1 attempt" in output
    assert "Simulated failure for value 2" in output and "Timeline · wall" in output
    console.type("/fanout nonsense")
    output = console.wait_output(r"only you can see this")
    # `/fanout` alone: the form, asked field by field; a bad answer comes back on its field, asked again.
    console.type("/fanout")
    console.wait_output(r"the bot opens a form: Start a fan-out")
    for answer in ("1 2 x", "", "4") + ("",) * 8:  # values, scenario, fail=mod (4th), its N, ... approval
        console.type(answer)
    console.wait_output(r"⚠ Values: ")
    console.type("1-6")  # asked again: only the values
    console.wait_output(r"⚠ N \(multiples of N\) or P")  # mod needs its N
    console.type("3")
    console.wait_output(r"\(form submitted\)")
    output = console.wait_output(r"Finished: 4 succeeded · 2 failed", timeout_s=60)
    assert "ran `/fanout 1-6 --fail mod:3`" in output
    console.type("/fanout list")  # a round trip after the summary, which would have printed a timeline by then
    output = console.wait_output(r"only you can see this", count=2)
    assert output.count("── timeline of ") == 1  # 6 children: no picture in Slack, so none here either
    console.type("exit")
    assert console.wait() == 0
    console.assert_all_stopped()
    assert "Traceback" not in console.output() and "Error" not in console.output(), console.output()


def test_a_run_going_when_make_dev_is_interrupted_reports_in_the_next_console(
        tmp_path: Path, dev_env: dict[str, str], supervisors: list[Supervisor]) -> None:  # noqa: F811
    first = Supervisor(tmp_path, dev_env, bot=True, tty=True)
    supervisors.append(first)
    first.wait_up(children=3)
    first.wait_output(r"fanout> ")
    first.type("/fanout 1-3 --delay 20")
    output = first.wait_output(r"bot posts in #CCONSOLE")
    [run_id] = set(re.findall(RUN_ID, output))
    os.killpg(first.proc.pid, signal.SIGINT)  # Ctrl-C: the terminal signals its foreground process group
    assert first.wait() == 0
    first.assert_all_stopped()
    assert "Partial success" not in first.output()

    again = Supervisor(tmp_path, dev_env, bot=True, tty=True, port=first.port)  # the same .dev: database, Slack
    supervisors.append(again)
    again.wait_up(children=3)
    output = again.wait_output(r"Finished: 2 succeeded · 1 failed", timeout_s=60)
    assert "Simulated failure for value 2" in output and run_id in output
    assert len(re.findall(r"bot posts in thread", output)) == 1  # its one summary, in its thread
    again.type("exit")
    assert again.wait() == 0
    assert "Traceback" not in again.output(), again.output()
