"""The grammar of a run, for bot.parse: values and options in any order, a scenario's own values and options
(the user's override them), and the checks on the child type, the batch and the size. Pure.

Values stay ranges: they are counted with ``count_values``, never expanded, so ``1-1000000000000`` is refused
at once. A problem is raised as ``Problem`` (mrkdwn, user text escaped), which bot.parse returns as a
``ParseError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.blocks import escape
from bot.catalog import Catalog, Scenario
from bot.command_text import option_names
from bot.commands import (
    APPROVE_TIMEOUT_S,
    REPORT_FIELDS,
    Changes,
    Option,
    OptionError,
    find_option,
    show,
)
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


@dataclass(frozen=True)
class RunCommand:
    request: FanoutRequest  # request.batch_size is the user's --batch, or 0 (automatic)
    value_count: int
    scenario: str = ""
    approve_timeout_s: float = 0.0  # > 0: wait this long for an approval first (--approve)


class Problem(Exception):
    """What was wrong (mrkdwn, user text escaped) and in which field, carried up to bot.parse.parse()."""

    def __init__(self, problem: str, field: str = "") -> None:
        super().__init__(problem)
        self.field = field


@dataclass(frozen=True)
class ParseContext:
    """What a command may ask for here: the most values one run may have, and the scenarios and child types."""

    max_values: int
    catalog: Catalog


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
    if scenario is not None:  # its options were checked when its file was loaded (bot.scenarios)
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
