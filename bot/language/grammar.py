"""/fanout text -> a typed command, or a ParseError saying what was wrong: the grammar of the command language. Pure;
``parse`` never raises.

Options, subcommands and examples come from the command table (bot.language.table), which also feeds the help
and the form. A run's values stay ranges: they are counted with ``count_values``, never expanded, so
``1-1000000000000`` is refused at once. A problem is raised as ``Problem`` (mrkdwn, user text escaped) and
returned as a ``ParseError``, with the field it is about (the form shows it there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from bot.catalog import LAB, Catalog, Scenario
from bot.language.help import option_names
from bot.language.schedule_spec import SpecError, When, split_spec
from bot.language.table import (
    APPROVE_TIMEOUT_S,
    REPORT_FIELDS,
    SUBCOMMANDS,
    Changes,
    Option,
    OptionError,
    find_option,
    show,
)
from bot.mrkdwn import escape
from workflows.model import MAX_CHILD_WORKFLOWS, FanoutRequest, ValueRange
from workflows.plugin import MAX_BATCH as MAX_PLUGIN_BATCH
from workflows.values import batch_problem, compress, count_values, plan_batch_size

MAX_ABS_VALUE = 10**12
_MAX_DIGITS = len(str(MAX_ABS_VALUE))
# A value is an integer or an inclusive range: `7`, `-3`, `1-15`, `-5--1`, `-3-3`, `-5..-1`.
_VALUE = re.compile(r"(-?[0-9]+)(?:(?:-|\.\.)(-?[0-9]+))?")
# Slack clients may turn `--` into an em or en dash: `—fail` is `--fail`.
_OPTION_PREFIXES = ("--", "—", "–")
VALUES_HOWTO = "write values like `1 2 3`, `1,2,3`, ranges `1-15` or negatives `-3` and `-5..-1`"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,200}")


@dataclass(frozen=True)
class RunCommand:
    request: FanoutRequest  # request.batch_size is the user's --batch, or 0 (automatic)
    value_count: int
    scenario: str = ""
    approve_timeout_s: float = 0.0  # > 0: wait this long for an approval first (--approve)


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
class DetailsCommand:
    run_id: str


@dataclass(frozen=True)
class ListCommand:
    pass


@dataclass(frozen=True)
class ParseError:
    problem: str  # mrkdwn, user text escaped; the caller appends usage_text()
    field: str = ""  # what was wrong: "values", "scenario", an option's name, or "" (the command as a whole)


Command = (RunCommand | HelpCommand | StatusCommand | CancelCommand | DetailsCommand | ListCommand | ScheduleCommand
           | SchedulesCommand | ScheduleActionCommand)


class Problem(Exception):
    """What was wrong (mrkdwn, user text escaped) and in which field, carried up to bot.language.grammar.parse()."""

    def __init__(self, problem: str, field: str = "") -> None:
        super().__init__(problem)
        self.field = field


@dataclass(frozen=True)
class ParseContext:
    """What a command may ask for here: the most values one run may have, and the scenarios and child types."""

    max_values: int
    catalog: Catalog


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


# -- a run: values and options, in any order ----------------------------------------------------------

def decoded(text: str) -> str:
    # Slack sends &, < and > as entities; decode them (every echo is escaped again).
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[\s,]+", decoded(text)) if t]


def is_option(token: str) -> bool:
    return token.startswith(_OPTION_PREFIXES) or (token[:1] == "-" and token[1:2].isalpha())


def _option(token: str) -> tuple[Option, str | None]:
    """The option a token names, and its `=value` if it has one."""
    prefix = next((p for p in _OPTION_PREFIXES if token.startswith(p)), "-")
    name, eq, value = token[len(prefix) :].partition("=")
    option = find_option(name.lower()) if prefix != "-" else None
    if option is None:
        hint = " (options start with `--`)" if prefix == "-" else ""
        raise Problem(f"Unknown option {show(token)}{hint}. Options are {option_names()}; see `/fanout help`.")
    return option, (value if eq else None)


def _value(token: str) -> ValueRange:
    match = _VALUE.fullmatch(token)
    if match is None:
        hint = " (use a plain `-` or `..` between the ends of a range)" if "—" in token or "–" in token else ""
        raise Problem(f"{show(token)} is not a number or a range{hint}; {VALUES_HOWTO}.")
    ends = [match[1], match[2] if match[2] is not None else match[1]]
    if any(len(e.lstrip("-").lstrip("0")) > _MAX_DIGITS for e in ends):
        raise Problem(f"{show(token)} is too large: values must be within ±{MAX_ABS_VALUE:,}.")
    start, end = int(ends[0]), int(ends[1])
    if max(abs(start), abs(end)) > MAX_ABS_VALUE:
        raise Problem(f"{show(token)} is too large: values must be within ±{MAX_ABS_VALUE:,}.")
    if start > end:
        raise Problem(f"{show(token)} runs downward; write ranges low-high, e.g. `1-15` or `-5..-1`.")
    return ValueRange(start, end)


def merge_values(parts: list[ValueRange]) -> list[ValueRange]:
    """Runs of consecutive single values become one range; order (and duplicates) are kept."""
    out: list[ValueRange] = []
    singles: list[int] = []
    for part in parts:
        if part.start == part.end:
            singles.append(part.start)
            continue
        out += compress(singles)
        singles = []
        out.append(part)
    return out + compress(singles)


def run_command(tokens: list[str], context: ParseContext, scenario: Scenario | None = None) -> RunCommand:
    """Values and options, in any order; a scenario brings its own values, and its own options, which the
    user's override."""
    changes, parts = read_tokens(tokens, in_scenario=scenario is not None)
    if scenario is not None:  # its options were checked when its file was loaded (bot.language.scenario_file)
        changes = {**read_tokens(split_tokens(scenario.options), in_scenario=True)[0], **changes}
    ranges = merge_values(parts) if scenario is None else [ValueRange(r.start, r.end) for r in scenario.values]
    total = count_values(ranges)
    if total == 0:
        raise Problem(f"No values to fan out; {VALUES_HOWTO}.", "values")
    max_values = context.max_values
    if total > max_values:
        raise Problem(
            f"That is {total:,} values; the limit is {max_values:,} per run (FANOUT_MAX_VALUES). "
            "Split it into smaller runs.", "values" if scenario is None else "scenario",
        )
    report = {k: changes.pop(k) for k in REPORT_FIELDS if k in changes}
    _check_child_type(changes, context.catalog, total)
    request = FanoutRequest(ranges=ranges, **changes)
    too_big = batch_problem(total, plan_batch_size(total, request.batch_size))
    if too_big:
        raise Problem(too_big + ".", "batch")
    approve_s = float(report.get("approve_timeout_s", APPROVE_TIMEOUT_S)) if report.get("approve") else 0.0
    return RunCommand(request=request, value_count=total, scenario=scenario.name if scenario else "",
                      approve_timeout_s=approve_s)


def read_tokens(tokens: list[str], *, in_scenario: bool) -> tuple[Changes, list[ValueRange]]:
    """The options' changes and the values, in any order; a scenario takes options only."""
    changes: Changes = {}
    seen: set[str] = set()
    parts: list[ValueRange] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        i += 1
        if not is_option(token):
            if in_scenario:
                raise Problem(f"A scenario brings its own values; remove {show(token)}, or run the values without it.",
                              "values")
            try:
                parts.append(_value(token))
            except Problem as bad:
                raise Problem(str(bad), "values") from None
            continue
        option, arg = _option(token)
        if option.name in seen:
            raise Problem(f"`{option.flag}` is given twice; give each option once.", option.name)
        seen.add(option.name)
        if not option.arg:
            if arg is not None:
                raise Problem(f"{show(token)}: `{option.flag}` is a flag and takes no value.", option.name)
            arg = ""
        elif arg is None and i < len(tokens) and not is_option(tokens[i]):
            arg = tokens[i]
            i += 1
        if option.arg and not arg:
            raise Problem(f"`{option.flag}` needs a value: `{escape(option.syntax)}`.", option.name)
        try:
            changes.update(option.apply(arg or ""))
        except OptionError as err:
            raise Problem(str(err), option.name) from None
    return changes, parts


def _check_child_type(changes: Changes, catalog: Catalog, total: int) -> None:
    """A child type some worker serves. A team's own child fails and takes its time on its own: the lab's
    `--fail` and `--delay` do not apply to it (it runs with ``fail="none"``)."""
    name = changes.get("child_type", "double")
    child = catalog.child_type(name)
    if child is None:
        served = " | ".join(c.name for c in catalog.child_types)
        raise Problem(f"No worker serves the child type {show(name)} right now; use {served}.", "child")
    if child.lab:
        return
    if changes.get("fail", "none") != "none" or changes.get("delay_max_s", 0):
        flag = "--fail" if changes.get("fail", "none") != "none" else "--delay"
        raise Problem(f"`{flag}` shapes the lab's children; {show(name)} fails and takes its time on its own. "
                      f"Remove `{flag}`.", "fail" if flag == "--fail" else "delay")
    requested = int(changes.get("batch_size", 0))
    assert child.plugin is not None
    if not child.plugin.activity and (requested > 1 or total > MAX_CHILD_WORKFLOWS):
        # A team's workflow takes one value by its contract: a run of it is one child workflow per value.
        raise Problem(f"{show(name)} is a workflow of one value: a run of it is one child workflow per value, "
                      f"at most {MAX_CHILD_WORKFLOWS:,} values (no `--batch`).",
                      "batch" if requested > 1 else "values")
    if requested > MAX_PLUGIN_BATCH:
        raise Problem(f"`--batch` for {show(name)} is at most {MAX_PLUGIN_BATCH:,} values per child (its results "
                      "are JSON, up to 1,000 bytes each).", "batch")
    if not requested and plan_batch_size(total) > MAX_PLUGIN_BATCH:
        changes["batch_size"] = MAX_PLUGIN_BATCH
    changes["fail"], changes["plugin"] = "none", child.plugin


# -- the subcommands ---------------------------------------------------------------------------------

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


# One parser per entry of bot.language.table.SUBCOMMANDS (tests check that the two match).
_SUBCOMMAND_PARSERS: dict[str, Callable[[list[str], ParseContext], Command]] = {
    "help": lambda args, _: HelpCommand(),
    "list": _list,
    "status": lambda args, _: StatusCommand(_run_id("status", args)),
    "cancel": lambda args, _: CancelCommand(_run_id("cancel", args)),
    "details": lambda args, _: DetailsCommand(_run_id("details", args)),
    "scenario": _scenario,
    "schedule": lambda args, context: _schedule(" ".join(args), context),  # (parse() reads its quotes)
    "schedules": _schedules,
    "pause": lambda args, _: _schedule_id("pause", args),
    "resume": lambda args, _: _schedule_id("resume", args),
    "trigger": lambda args, _: _schedule_id("trigger", args),
    "delete": lambda args, _: _schedule_id("delete", args),
}
