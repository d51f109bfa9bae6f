"""``fanout`` (or ``python -m bot.cli``): /fanout from a terminal — same parser, same renderer, no Slack.

    fanout 1 2 3 4 5                     # start a run, show progress on stderr, print the summary
    fanout 1-15 --fail mod:3 --retries 3 # every /fanout option works
    fanout --fail-on-failure 1-5         # exit 1 when any child failed (or the run was cancelled)
    fanout scenario <name> [options]     # the lab's three, and FANOUT_SCENARIOS' (those not limited to channels)
    fanout status <run-id> | cancel <run-id> | list | help

CLI-only flags (anywhere on the line): ``--fail-on-failure``, ``--json`` (print the result as JSON),
``--no-wait`` (start, print the run id, exit), ``-h``/``--help``. Exit codes: 0 done; 1 children
failed (with ``--fail-on-failure``) or the run itself failed; 2 bad command line, configuration or
Temporal unreachable; 130 interrupted (the run goes on in Temporal).
"""

from __future__ import annotations

import asyncio
import dataclasses
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TextIO

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from bot.catalog import SCENARIOS, Catalog, ServedChildTypes
from bot.language.grammar import CancelCommand, HelpCommand, ListCommand, ParseError, RunCommand, StatusCommand, parse
from bot.language.help import help_text
from bot.mrkdwn import mrkdwn_to_text
from bot.operations.start import Origin, start_unreported
from bot.render.replies import status_message
from bot.render.run import format_duration, progress_bar, summary_message
from bot.render.terminal import blocks_to_text
from bot.runs.info import ui_url
from bot.runs.lookup import STATUS_NAMES
from bot.settings import Settings
from runtime.config import ConfigError, load_dotenv_once
from runtime.logs import configure_logging, hard_exit
from runtime.temporal import TemporalUnavailable, connect
from workflows.model import FanoutResult, Progress
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.cli")
CLI_FLAGS = ("--fail-on-failure", "--json", "--no-wait")
HELP_FLAGS = ("-h", "--help")
LIST_LIMIT = 20
USAGE = """usage: fanout [--fail-on-failure] [--json] [--no-wait] <values> [options]
       fanout scenario <name> [options] | status <run-id> | cancel <run-id> | list | help
e.g.   fanout 1 2 3 4 5 · fanout 1-15 --fail mod:3 --retries 3 · fanout help"""


class CliError(Exception):
    """One line for stderr; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def terminal(mrkdwn: str) -> str:
    return mrkdwn_to_text(mrkdwn, plain=True).replace("/fanout", "fanout")


def print_blocks(blocks: list[dict[str, Any]]) -> None:
    shown = [b for b in blocks if b.get("type") != "actions"]  # buttons mean nothing here
    for line in blocks_to_text(shown, plain=True):
        print(line.replace("/fanout", "fanout"))


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return str(os.getuid())


class Progressor:
    """One progress line on stderr: rewritten in place on a terminal, one line per change otherwise."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = False

    def write(self, text: str) -> None:
        if self.tty:
            self.stream.write(f"\r\033[K{text}")
            self.shown = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self) -> None:
        if self.tty and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()

    async def on_progress(self, p: Progress) -> None:
        line = (f"{progress_bar(p.finished, p.total)}  {p.finished:,}/{p.total:,} done · {p.failed:,} failed · "
                f"{p.running:,} running · {format_duration(p.elapsed_s)}")
        self.write(line)


# -- waiting for a run: progress while it runs, then its result ---------------------------------------

ProgressCallback = Callable[[Progress], Awaitable[None]]
WATCH_QUERY_TIMEOUT = timedelta(seconds=5)  # no worker answering must not stall the watch for long


def _key(progress: Progress) -> tuple[int, int, int, int, str]:
    return (progress.succeeded, progress.failed, progress.running, progress.cancelled, progress.cancel_requested_by)


async def watch_run(
    handle: WorkflowHandle[ParentWorkflow, FanoutResult],
    on_progress: ProgressCallback,
    *,
    interval_s: float = 3.0,
    refresh_every: int = 5,
) -> FanoutResult:
    """The run's result; meanwhile ``on_progress`` with each changed progress. Raises what
    ``handle.result()`` raises (WorkflowFailureError when the run failed, RPCError)."""
    result_task = asyncio.ensure_future(handle.result())
    last: tuple[int, int, int, int, str] | None = None
    unchanged = 0
    try:
        while True:
            done, _ = await asyncio.wait({result_task}, timeout=interval_s)
            if done:
                return result_task.result()
            try:
                progress = await handle.query(ParentWorkflow.progress, rpc_timeout=WATCH_QUERY_TIMEOUT)
            except Exception as err:  # no worker polling right now, a restart...: try again next tick
                log.debug("progress query for %s failed: %s", handle.id, err)
                continue
            if progress.done:
                continue  # the result is on its way; the summary and the final update follow
            key = _key(progress)
            unchanged = unchanged + 1 if key == last else 0
            if key == last and unchanged % max(refresh_every, 1):
                continue
            last = key
            try:
                await on_progress(progress)
            except Exception:  # a failed progress update must never lose the summary
                log.exception("progress update for %s failed", handle.id)
    finally:
        if not result_task.done():
            result_task.cancel()


async def run(command: RunCommand, text: str, settings: Settings, client: Client, *, fail_on_failure: bool,
              as_json: bool, wait: bool) -> int:
    origin = Origin(user_id=f"cli:{os_user()}", channel_id="cli", text=text, slack=False)
    try:
        info, handle = await start_unreported(client, command.request, origin, task_queue=settings.task_queue,
                                              ui_base=settings.temporal_ui_url)
    except RPCError as err:
        raise CliError(f"Temporal did not accept the run ({err.status.name}: {err.message}); nothing started") from None
    print(f"run {info.workflow_id}: {info.value_count:,} values on {settings.task_queue} · {info.ui_url}",
          file=sys.stderr)
    if not wait:
        print(info.workflow_id)
        return 0
    progress = Progressor()
    try:
        result = await watch_run(handle, progress.on_progress, interval_s=1.0)
    except asyncio.CancelledError:
        progress.done()
        print(f"fanout: stopped waiting; run {info.workflow_id} goes on (fanout status {info.workflow_id}, "
              f"fanout cancel {info.workflow_id})", file=sys.stderr)
        raise
    except WorkflowFailureError as err:
        progress.done()
        raise CliError(f"run {info.workflow_id} failed: {err.cause or err}", code=1) from None
    progress.done()
    if as_json:
        print(json.dumps(dataclasses.asdict(result), indent=2))
    else:
        print(f"Run {info.workflow_id} · {info.ui_url}")
        print_blocks(summary_message(info, result).blocks)
    return 1 if fail_on_failure and (result.failure_count > 0 or result.status == "cancelled") else 0


async def status(run_id: str, settings: Settings, client: Client) -> int:
    handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
    try:
        desc = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"no run {run_id} found", code=1) from None
        raise
    name = STATUS_NAMES.get(desc.status, str(desc.status)) if desc.status else "Unknown"
    progress: Progress | None = None
    result: FanoutResult | None = None
    if desc.status == WorkflowExecutionStatus.RUNNING:
        progress = await handle.query(ParentWorkflow.progress)
    elif desc.status == WorkflowExecutionStatus.COMPLETED:
        result = await handle.result()
        name = "Cancelled" if result.status == "cancelled" else name
    link = ui_url(settings.temporal_ui_url, client.namespace, run_id)
    print_blocks(status_message(run_id, name, progress, result, link).blocks)
    print(link)
    return 0


async def cancel(run_id: str, client: Client) -> int:
    handle = client.get_workflow_handle_for(ParentWorkflow.run, run_id)
    try:
        desc = await handle.describe()
        if desc.status != WorkflowExecutionStatus.RUNNING:
            raise CliError(f"run {run_id} is not running; nothing to cancel", code=1)
        await handle.signal(ParentWorkflow.request_cancel, f"cli:{os_user()}")
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CliError(f"no run {run_id} found", code=1) from None
        raise
    print(f"cancelling {run_id}: running children stop, finished results are kept")
    return 0


async def list_runs(client: Client) -> int:
    rows = 0
    async for wf in client.list_workflows("WorkflowType = 'ParentWorkflow'", limit=LIST_LIMIT):
        memo = await wf.memo()
        state = STATUS_NAMES.get(wf.status, "Unknown") if wf.status else "Unknown"
        who = f"{memo.get('slack_user') or '?'} in {memo.get('slack_channel') or '?'}"
        print(f"{wf.id}  {state:<10}  {wf.start_time:%Y-%m-%d %H:%M}  {who}  "
              f"fanout {str(memo.get('command_text', ''))[:60]}")
        rows += 1
    if not rows:
        print("no /fanout runs yet")
    return 0


def split_args(argv: Sequence[str]) -> tuple[set[str], str]:
    """CLI-only flags, and the rest of the line as /fanout text."""
    flags = {a for a in argv if a in CLI_FLAGS or a in HELP_FLAGS}
    return flags, " ".join(a for a in argv if a not in flags)


async def dispatch(argv: Sequence[str]) -> int:
    flags, text = split_args(argv)
    settings = Settings.from_env(require_slack=False)  # a bad FANOUT_SCENARIOS file: ConfigError, exit 2
    # No channel: the scenarios offered everywhere; the child types workers serve (the lab's if Temporal is down).
    served = ServedChildTypes(lambda: connect(timeout_s=5.0), settings.task_queue, warn=False)
    catalog = Catalog(SCENARIOS + settings.scenarios, await served.fresh()).for_channel("")
    command = HelpCommand() if flags & set(HELP_FLAGS) else parse(text, max_values=settings.max_values,
                                                                  catalog=catalog)
    if isinstance(command, ParseError):
        raise CliError(f"{terminal(command.problem)}\n{USAGE}")
    if isinstance(command, HelpCommand):
        print(USAGE + "\n")
        print(terminal(help_text(catalog)))
        print("\nTerminal only: --fail-on-failure (exit 1 when a child failed), --json, --no-wait.")
        return 0
    try:
        client = await connect(timeout_s=5.0)
    except TemporalUnavailable as err:
        raise CliError(str(err).splitlines()[0]) from None
    if isinstance(command, RunCommand):
        return await run(command, text, settings, client, fail_on_failure="--fail-on-failure" in flags,
                         as_json="--json" in flags, wait="--no-wait" not in flags)
    if isinstance(command, StatusCommand):
        return await status(command.run_id, settings, client)
    if isinstance(command, CancelCommand):
        return await cancel(command.run_id, client)
    if isinstance(command, ListCommand):
        return await list_runs(client)
    raise CliError(f"unsupported command {type(command).__name__}")


def main(argv: Sequence[str] | None = None) -> None:
    load_dotenv_once()
    code = 0
    try:
        configure_logging({**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "").strip() or "WARNING"})
        code = asyncio.run(dispatch(sys.argv[1:] if argv is None else argv))
    except (CliError, ConfigError) as err:
        print(f"fanout: {err}", file=sys.stderr)
        code = getattr(err, "code", 2)
    except RPCError as err:
        print(f"fanout: Temporal answered {err.status.name}: {err.message}", file=sys.stderr)
        code = 2
    except KeyboardInterrupt:
        code = 130
    hard_exit(code)


if __name__ == "__main__":
    main()
