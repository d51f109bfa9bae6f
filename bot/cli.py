"""``fanout`` (or ``python -m bot.cli``): /fanout from a terminal — same parser, same renderer, no Slack.

    fanout 1 2 3 4 5                     # start a run, show progress on stderr, print the summary
    fanout 1-15 --fail mod:3 --retries 3 # every /fanout option works
    fanout --fail-on-failure 1-5         # exit 1 when any child failed (or the run was cancelled)
    fanout scenario <name> [options]     # the lab's three, and FANOUT_SCENARIOS' (those not limited to channels)
    fanout status <run-id> | cancel <run-id> | list | help     # the same operations as in Slack (bot.operations)
    fanout details <run-id> [--show failed|retried|running] [--page N]   # the run's Details modal, as text
    fanout details <run-id> --child POSITION | --batch INDEX [--page N]  # a child's story, a batch's failures

CLI-only flags (anywhere on the line): ``--fail-on-failure``, ``--json`` (print the result as JSON),
``--no-wait`` (start, print the run id, exit), ``-h``/``--help``. Exit codes: 0 done; 1 children
failed (with ``--fail-on-failure``) or the run itself failed; 2 bad command line, configuration or
Temporal unreachable; 130 interrupted (the run goes on in Temporal).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any, TextIO

from temporalio.client import (
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
)
from temporalio.service import RPCError

from bot.catalog import ServedChildTypes
from bot.files.timeline import text_timeline
from bot.language.grammar import (
    CancelCommand,
    DetailsCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    StatusCommand,
)
from bot.language.help import help_text
from bot.mrkdwn import mrkdwn_to_text
from bot.operations.answers import Answer
from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from bot.operations.start import Deployment
from bot.render.blocks import format_duration, progress_bar
from bot.render.details import (
    BATCH_ACTION,
    CHILD_ACTION,
    FILTER_LABELS,
    FILTERS,
    MOVE_ACTION,
    Place,
    view_of,
)
from bot.render.run import summary_message
from bot.render.terminal import blocks_to_text, view_text
from bot.settings import Settings
from runtime.config import ConfigError, load_dotenv_once
from runtime.logs import configure_logging, hard_exit
from runtime.temporal import TemporalGateway
from workflows.model import FanoutResult, Progress
from workflows.parent import ParentWorkflow

log = logging.getLogger("fanout.cli")
CLI_FLAGS = ("--fail-on-failure", "--json", "--no-wait")
HELP_FLAGS = ("-h", "--help")
USAGE = """usage: fanout [--fail-on-failure] [--json] [--no-wait] <values> [options]
       fanout scenario <name> [options] | status <run-id> | details <run-id> | cancel <run-id> | list | help
e.g.   fanout 1 2 3 4 5 · fanout 1-15 --fail mod:3 --retries 3 · fanout help"""
DETAILS_USAGE = ("usage: fanout details <run-id> [--show all|failed|retried|running] [--page N]\n"
                 "       fanout details <run-id> --child POSITION | --batch INDEX [--page N]")
DETAILS_OPTIONS = ("--show", "--page", "--child", "--batch")  # the Details modal's buttons, as a terminal types them


class CliError(Exception):
    """One line for stderr; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


SLASH_COMMAND = re.compile(r"(?<![\w.:/])/fanout")  # the command as typed, not a path (…/workflows/fanout-1a2b)


def in_terminal_words(text: str) -> str:
    """``/fanout`` is ``fanout`` here."""
    return SLASH_COMMAND.sub("fanout", text)


def terminal(mrkdwn: str) -> str:
    return in_terminal_words(mrkdwn_to_text(mrkdwn, plain=True))


def print_blocks(blocks: list[dict[str, Any]]) -> None:
    for line in blocks_to_text(blocks, plain=True, links_only=True):  # a button does nothing here; a link does
        print(in_terminal_words(line))


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
            # No worker polling right now, a restart...: try again next tick.
            except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
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
            except OSError as err:  # the terminal went away: the summary still comes (or its error does)
                log.warning("progress of %s not shown: %s", handle.id, err)
    finally:
        if not result_task.done():
            result_task.cancel()


async def run(ops: Operations, command: RunCommand, text: str, caller: Caller, *, fail_on_failure: bool,
              as_json: bool, wait: bool) -> int:
    started = await ops.runs.start_in_terminal(command.request, text, caller)
    if isinstance(started, Answer):
        return show(started)
    info, handle = started
    print(f"run {info.workflow_id}: {info.value_count:,} values on {ops.settings.task_queue} · {info.ui_url}",
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
        if timeline := text_timeline(result, command.request.ranges):  # as the thread's PNG shows it in Slack
            print("\n" + timeline)
    return 1 if fail_on_failure and (result.failure_count > 0 or result.status == "cancelled") else 0


def details_options(args: list[str]) -> tuple[list[str], dict[str, str]]:
    """``fanout details``'s own options (the modal's buttons: filters, pages, Story, Failures), taken out of the
    line before the shared parser reads the rest."""
    rest, options = [], {}
    words = iter(args)
    for word in words:
        if word not in DETAILS_OPTIONS:
            rest.append(word)
            continue
        value = next(words, "")
        if not value or word in options:
            raise CliError(f"{word} takes one value\n{DETAILS_USAGE}")
        options[word] = value
    return rest, options


def details_place(run_id: str, options: dict[str, str]) -> tuple[Place, int]:
    """Where ``fanout details`` looks, and at which page (1 the first): refused as one line with usage."""
    def number(option: str, least: int) -> int:
        raw = options.get(option, str(least))
        if not raw.isdigit() or int(raw) < least:
            raise CliError(f"{option} takes a whole number of at least {least}, not {raw!r}\n{DETAILS_USAGE}")
        return int(raw)

    show_filter = options.get("--show", "all")
    if show_filter not in FILTERS:
        raise CliError(f"--show takes {', '.join(FILTERS)}, not {show_filter!r}\n{DETAILS_USAGE}")
    page = number("--page", 1)
    pushed = [o for o in ("--child", "--batch") if o in options]
    if len(pushed) == 2 or (pushed and "--show" in options) or ("--child" in options and "--page" in options):
        raise CliError(f"--child and --batch each open one view of their own\n{DETAILS_USAGE}")
    if "--child" in options:
        return Place(run_id, child=number("--child", 0)), 1
    if "--batch" in options:
        return Place(run_id, batch=number("--batch", 0), page=page - 1), 1  # a batch's failures page by position
    return Place(run_id, show=show_filter), page


async def details(ops: Operations, caller: Caller, run_id: str, options: dict[str, str]) -> int:
    """The Details modal as text: the run's header, a page of its children or batches, its timeline; or a child's
    story, or a batch's failures. Under each button, the command that does what it does."""
    place, page = details_place(run_id, options)
    for _ in range(page - 1):  # a live run's filtered pages follow visibility's page tokens: walk to the page
        read = await ops.details.run(caller, place)
        if isinstance(read, Answer):
            return show(read)
        if read.listing is None or not read.listing.has_next:
            raise CliError(f"run {run_id} has no page {page} of {FILTER_LABELS[place.show].lower()}", code=1)
        place = replace(place, ahead=read.listing.ahead).turned(forward=True)
    shown = await ops.details.at(caller, place)
    if isinstance(shown, Answer):
        return show(shown)
    for line in view_text(view_of(shown, place), details_hints(place)):
        print(in_terminal_words(line))
    return 0


def details_hints(place: Place) -> Callable[[list[dict[str, Any]]], list[str]]:
    """What a terminal types for each of a Details view's buttons."""
    command = f"fanout details {place.run_id}"
    where = f" --batch {place.batch}" if place.batch >= 0 else f" --show {place.show}" if place.show != "all" else ""

    def hints(buttons: list[dict[str, Any]]) -> list[str]:
        lines, filters = [], []
        for button in buttons:
            action, value = str(button.get("action_id", "")), str(button.get("value", ""))
            label = str((button.get("text") or {}).get("text", ""))
            move = action.partition(":")[2] if action.startswith(f"{MOVE_ACTION}:") else ""
            if action == CHILD_ACTION:
                lines.append(f"  ↳ its story: {command} --child {value}")
            elif action == BATCH_ACTION:
                lines.append(f"  ↳ its failures: {command} --batch {value}")
            elif move in FILTERS:
                filters.append(f"{label}: --show {move}")
            elif move in ("prev", "next"):
                lines.append(f"  {label}: {command}{where} --page {place.page + (2 if move == 'next' else 0)}")
        if filters:
            lines.insert(0, "  " + " · ".join(filters))
        return lines

    return hints


def show(answer: Answer) -> int:
    """An operation's answer: on stdout (exit 0), or as one line on stderr (exit 1; 2 when Temporal is away)."""
    if answer.ok:
        print_blocks(answer.message.blocks)
        return 0
    print(f"fanout: {terminal(answer.plain)}", file=sys.stderr)
    return 2 if answer.outage else 1


def split_args(argv: Sequence[str]) -> tuple[set[str], str]:
    """CLI-only flags, and the rest of the line as /fanout text."""
    flags = {a for a in argv if a in CLI_FLAGS or a in HELP_FLAGS}
    return flags, " ".join(a for a in argv if a not in flags)


def terminal_operations(settings: Settings) -> Operations:
    """The operations, as a terminal has them: no Slack workspace, so no bot queue; the run's own queue and the
    Web UI's links from the settings."""
    gateway = TemporalGateway(connect_timeout_s=5.0, retry_config=None)
    deployment = Deployment(workflow_queue="", fanout_queue=settings.task_queue, ui_base=settings.temporal_ui_url)
    return Operations(settings, gateway, deployment, ServedChildTypes(gateway.client, settings.task_queue, warn=False))


async def dispatch(argv: Sequence[str]) -> int:
    flags, text = split_args(argv)
    options: dict[str, str] = {}
    if text.split()[:1] == ["details"]:
        words, options = details_options(text.split())
        text = " ".join(words)
    settings = Settings.from_env(require_slack=False)  # a bad FANOUT_SCENARIOS file: ConfigError, exit 2
    ops = terminal_operations(settings)
    # No channel: the scenarios offered everywhere; the child types workers serve (the lab's if Temporal is down).
    await ops.child_types.fresh()
    catalog = ops.catalog("")
    command = HelpCommand() if flags & set(HELP_FLAGS) else ops.parse(text, catalog)
    if isinstance(command, ParseError):
        raise CliError(f"{terminal(command.problem)}\n{USAGE}")
    caller = Caller.at_terminal()
    match command:
        case HelpCommand():
            print(USAGE + "\n")
            print(terminal(help_text(catalog)))
            print("\nTerminal only: --fail-on-failure (exit 1 when a child failed), --json, --no-wait; "
                  "details takes --show, --page, --child and --batch in place of the modal's buttons.")
            return 0
        case RunCommand():
            return await run(ops, command, text, caller, fail_on_failure="--fail-on-failure" in flags,
                             as_json="--json" in flags, wait="--no-wait" not in flags)
        case StatusCommand(run_id=run_id):
            return show(await ops.runs.status(caller, run_id))
        case DetailsCommand(run_id=run_id):
            return await details(ops, caller, run_id, options)
        case CancelCommand(run_id=run_id):
            return show(await ops.runs.cancel(caller, run_id))
        case ListCommand():
            return show(await ops.runs.list_runs(caller))
    raise CliError(f"`{text.split()[0]}` is for Slack: a schedule belongs to a channel")


def main(argv: Sequence[str] | None = None) -> None:
    load_dotenv_once()
    code = 0
    try:
        # The CLI says what went wrong itself, in one line: the log has only errors, unless LOG_LEVEL asks for more.
        configure_logging({**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "").strip() or "ERROR"})
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
