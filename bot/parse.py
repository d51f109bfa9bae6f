"""/fanout text -> a typed command, or a ParseError saying what was wrong. Pure; never raises.

Options and scenarios come from the table in bot.commands. The subcommands are read here; a run's
values and options in bot.parse_run.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.catalog import LAB, Catalog
from bot.commands import SUBCOMMANDS, show
from bot.parse_run import (
    VALUES_HOWTO,
    ParseContext,
    Problem,
    RunCommand,
    decoded,
    is_option,
    merge_values,
    read_tokens,
    run_command,
    split_tokens,
)
from bot.schedule_spec import SpecError, When, split_spec
from workflows.model import ValueRange

__all__ = [
    "CancelCommand",
    "Command",
    "HelpCommand",
    "ListCommand",
    "ParseError",
    "RunCommand",
    "ScheduleActionCommand",
    "ScheduleCommand",
    "SchedulesCommand",
    "StatusCommand",
    "parse",
    "values_of",
]

_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,200}")


@dataclass(frozen=True)
class ScheduleCommand:
    when: When
    run: RunCommand
    run_text: str  # the run as typed after the spec


@dataclass(frozen=True)
class SchedulesCommand:
    pass


@dataclass(frozen=True)
class ScheduleActionCommand:
    action: str  # pause | resume | trigger | delete
    schedule_id: str


@dataclass(frozen=True)
class HelpCommand:
    pass


@dataclass(frozen=True)
class StatusCommand:
    run_id: str


@dataclass(frozen=True)
class CancelCommand:
    run_id: str


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class ParseError:
    problem: str  # mrkdwn, user text escaped; the caller appends usage_text()
    field: str = ""  # what was wrong: "values", "scenario", an option's name, or "" (the command as a whole)


Command = (RunCommand | HelpCommand | StatusCommand | CancelCommand | ListCommand | ScheduleCommand
           | SchedulesCommand | ScheduleActionCommand)


def parse(text: str, *, max_values: int, catalog: Catalog = LAB) -> Command | ParseError:
    """Parse the text after `/fanout`. ``max_values`` is the most values one run may have; ``catalog``
    names the scenarios and child types there are."""
    context = ParseContext(max_values, catalog)
    tokens = split_tokens(text)
    if not tokens:
        return ParseError("Tell me what to fan out: give some values (e.g. `1-15`) or a command.")
    try:
        head = tokens[0].lower()
        if head == "schedule":  # its cron spec is quoted text, read before the words are split
            return _schedule(decoded(text).strip()[len("schedule"):], context)
        sub = next((s for s in SUBCOMMANDS if s.name == head), None)
        if sub is not None:
            return _SUBCOMMAND_PARSERS[sub.name](tokens[1:], context)
        if tokens[0][:1].isalpha():
            commands = ", ".join(f"`{s.name}`" for s in SUBCOMMANDS)
            raise Problem(f"Unknown command {show(tokens[0])}. Commands are {commands}; or {VALUES_HOWTO}.")
        return run_command(tokens, context)
    except Problem as problem:
        return ParseError(str(problem), problem.field)


def values_of(text: str) -> list[ValueRange] | ParseError:
    """Values alone (``1-15 20``), as /fanout reads them, and no options: a scenario file's ``values``."""
    tokens = split_tokens(text)
    try:
        if any(is_option(t) for t in tokens):
            raise Problem("Values are numbers and ranges only; options go in a scenario's `options`.", "values")
        _, parts = read_tokens(tokens, in_scenario=False)
    except Problem as problem:
        return ParseError(str(problem), problem.field)
    return merge_values(parts) if parts else ParseError(f"No values to fan out; {VALUES_HOWTO}.", "values")


def _run_id(name: str, args: list[str]) -> str:
    example = f"`/fanout {name} fanout-1a2b3c`"
    if not args:
        raise Problem(f"`{name}` needs a run id, e.g. {example}.")
    if len(args) > 1:
        raise Problem(f"`{name}` takes one run id, not {len(args)} words, e.g. {example}.")
    if _RUN_ID.fullmatch(args[0]) is None:
        raise Problem(
            f"{show(args[0])} is not a run id. Run ids look like `fanout-1a2b3c` "
            f"(letters, digits, `-`, `_`, `.`, `:`), e.g. {example}."
        )
    return args[0]


def _scenario(args: list[str], context: ParseContext) -> RunCommand:
    names = ", ".join(f"`{s.name}`" for s in context.catalog.scenarios)
    if not args:
        raise Problem(f"`scenario` needs a name: {names}, e.g. `/fanout scenario large-scale`.")
    scenario = context.catalog.scenario(args[0].lower())
    if scenario is None and args[0].lower() in context.catalog.elsewhere:
        raise Problem(f"The scenario {show(args[0])} is offered in other channels, not here; the scenarios here "
                      f"are {names}.", "scenario")
    if scenario is None:
        raise Problem(f"Unknown scenario {show(args[0])}; the scenarios are {names}.", "scenario")
    return run_command(args[1:], context, scenario)


def _no_args(name: str, args: list[str]) -> None:
    if args:
        raise Problem(f"`{name}` takes nothing after it; got {show(' '.join(args))}.")


def _list(args: list[str], context: ParseContext) -> ListCommand:
    _no_args("list", args)
    return ListCommand()


def _schedule(text: str, context: ParseContext) -> ScheduleCommand:
    try:
        when, run_text = split_spec(text)
    except SpecError as err:
        raise Problem(str(err), "schedule") from None
    tokens = split_tokens(run_text)
    head = tokens[0].lower() if tokens else ""
    if head == "scenario":
        run = _scenario(tokens[1:], context)
    elif head[:1].isalpha():
        raise Problem(f"A schedule runs values or a scenario, not {show(tokens[0])}.", "values")
    else:
        run = run_command(tokens, context)
    if run.approve_timeout_s:
        raise Problem("A scheduled run cannot wait for an approval: nobody would be there to give it. "
                      "Remove `--approve`.", "approve")
    return ScheduleCommand(when, run, run_text.strip())


def _schedule_id(action: str, args: list[str]) -> ScheduleActionCommand:
    example = f"`/fanout {action} fanout-sch-1a2b3c4d5e`"
    if len(args) != 1 or _RUN_ID.fullmatch(args[0]) is None:
        raise Problem(f"`{action}` takes one schedule id (`/fanout schedules` lists them), e.g. {example}.")
    return ScheduleActionCommand(action, args[0])


def _schedules(args: list[str], context: ParseContext) -> SchedulesCommand:
    _no_args("schedules", args)
    return SchedulesCommand()


# One parser per entry of bot.commands.SUBCOMMANDS (tests check that the two match).
_SUBCOMMAND_PARSERS: dict[str, Callable[[list[str], ParseContext], Command]] = {
    "help": lambda args, _: HelpCommand(),
    "list": _list,
    "status": lambda args, _: StatusCommand(_run_id("status", args)),
    "cancel": lambda args, _: CancelCommand(_run_id("cancel", args)),
    "scenario": _scenario,
    "schedule": lambda args, context: _schedule(" ".join(args), context),  # (parse() reads its quotes)
    "schedules": _schedules,
    "pause": lambda args, _: _schedule_id("pause", args),
    "resume": lambda args, _: _schedule_id("resume", args),
    "trigger": lambda args, _: _schedule_id("trigger", args),
    "delete": lambda args, _: _schedule_id("delete", args),
}
