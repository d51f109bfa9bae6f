"""The /fanout command table: the one source for the parser (bot.language.grammar), the help text (bot.language.help)
and the form (bot.render.form). Pure.

Each ``Option`` carries its own ``apply`` (text -> FanoutRequest field changes), so the parser
finds options only here and the help lists exactly what the parser accepts; and its ``form`` (how the
form asks for it: a widget, its choices and default, and how a request shows in it), so the form
offers exactly what the parser accepts and submits it as /fanout text the parser then reads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.catalog import LAB, Catalog
from bot.mrkdwn import escape
from runtime.plugins import CHILD_NAME
from workflows.model import MAX_CHILD_WORKFLOWS, FanoutRequest
from workflows.rules import FAIL_RULE_HELP, RuleError, parse_fail_rule

MAX_ATTEMPTS = 10
MAX_DELAY_S = 3600.0
APPROVE_TIMEOUT_S = 3600.0  # an approval nobody gives ends the run as expired after this long ...
MIN_APPROVE_TIMEOUT_S = 10.0  # ... at least 10 s ...
MAX_APPROVE_TIMEOUT_S = 7 * 86400.0  # ... at most a week
MIN_EVERY_S = 60.0  # a schedule fires at most once a minute
_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
ECHO_LIMIT = 60  # characters of a bad token echoed back in an error

Changes = dict[str, Any]  # FanoutRequest field name (or, for REPORT_FIELDS, the reporter's) -> value
REPORT_FIELDS = ("approve", "approve_timeout_s")  # what a run's reporter does, not its ParentWorkflow


class OptionError(ValueError):
    """An option's argument does not parse; the message is mrkdwn with user text escaped."""


def show(text: str) -> str:
    """User text as inline code: at most ECHO_LIMIT characters, escaped, unable to close the code span."""
    if len(text) > ECHO_LIMIT:
        text = text[: ECHO_LIMIT - 1] + "…"
    return "`" + escape(text.replace("`", "'")) + "`"


@dataclass(frozen=True)
class Choice:
    value: str  # as the option's text takes it
    label: str


@dataclass(frozen=True)
class FormField:
    """How the form asks for an option. ``select`` and ``radio`` offer ``choices``; a choice named in
    ``takes_argument`` needs the text of a second field labelled ``argument`` (``mod`` -> ``mod:3``)."""

    label: str
    widget: str  # select | radio | number | text
    choices: tuple[Choice, ...] = ()
    placeholder: str = ""
    argument: str = ""
    takes_argument: tuple[str, ...] = ()
    minimum: int = 0
    maximum: int = 0


@dataclass(frozen=True)
class Option:
    name: str  # without dashes: `--fail` is "fail"
    arg: str  # argument syntax for the help; "" for a flag
    default: str
    help: str
    apply: Callable[[str], Changes]  # raises OptionError
    form: FormField
    shown: Callable[[FanoutRequest], str]  # the request's setting as the option's text ("" = the default)

    @property
    def flag(self) -> str:
        return f"--{self.name}"

    @property
    def syntax(self) -> str:
        return f"{self.flag} {self.arg}" if self.arg else self.flag


@dataclass(frozen=True)
class Subcommand:
    name: str
    args: str  # argument syntax for the help
    help: str
    example: str  # for the short usage


@dataclass(frozen=True)
class Example:
    title: str
    text: str  # what follows `/fanout`


def _whole(option: str, arg: str, what: str) -> int:
    if not arg.isascii() or not arg.isdigit():
        raise OptionError(f"{show(f'--{option} {arg}')}: `--{option}` needs {what}.")
    return int(arg) if len(arg.lstrip("0")) <= 18 else 10**18  # past every limit, without a huge int()


def _fail(arg: str) -> Changes:
    try:
        parse_fail_rule(arg)
    except RuleError as err:
        raise OptionError(f"{show(f'--fail {arg}')}: {escape(str(err))}.") from None
    return {"fail": arg.strip().lower()}


def _retries(arg: str) -> Changes:
    what = f"a whole number 1-{MAX_ATTEMPTS}: the maximum attempts per child (1 = no retry), e.g. `--retries 3`"
    attempts = _whole("retries", arg, what)
    if not 1 <= attempts <= MAX_ATTEMPTS:
        raise OptionError(f"{show(f'--retries {arg}')}: `--retries` needs {what}.")
    return {"max_attempts": attempts}


def _seconds(text: str) -> float | None:
    whole, dot, frac = text.partition(".")
    if not (whole.isascii() and whole.isdigit()) or (dot and not (frac.isascii() and frac.isdigit())):
        return None
    return float(text)


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def _delay(arg: str) -> Changes:
    lo_text, sep, hi_text = arg.partition("..") if ".." in arg else arg.partition("-")
    lo, hi = _seconds(lo_text), _seconds(hi_text if sep else lo_text)
    if lo is None or hi is None or lo > hi or hi > MAX_DELAY_S:
        raise OptionError(
            f"{show(f'--delay {arg}')}: `--delay` needs seconds S or a range A-B (low-high) "
            f"between 0 and {MAX_DELAY_S:,.0f}, e.g. `--delay 2` or `--delay 1-5`."
        )
    return {"delay_min_s": lo, "delay_max_s": hi}


def _sequential(arg: str) -> Changes:
    return {"sequential": True}


def _batch(arg: str) -> Changes:
    size = _whole("batch", arg, "a whole number of values per child workflow, at least 1, e.g. `--batch 10`")
    if size < 1:
        raise OptionError(f"{show(f'--batch {arg}')}: `--batch` needs at least 1 value per child workflow.")
    return {"batch_size": size}


def duration_s(text: str) -> float | None:
    """``90s``, ``30m``, ``1h``, ``2d`` (or plain seconds) -> seconds; None if it is not one."""
    text = text.strip().lower()
    unit = _UNITS.get(text[-1:], 0.0) if text[-1:].isalpha() else 1.0
    number = text[:-1] if text[-1:].isalpha() else text
    if not unit or not number.isascii() or not number.replace(".", "", 1).isdigit():
        return None
    return float(number) * unit


def duration_text(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{_seconds_text(seconds)}s"


def _approve(arg: str) -> Changes:
    return {"approve": True}


def _approve_timeout(arg: str) -> Changes:
    seconds = duration_s(arg)
    if seconds is None or not MIN_APPROVE_TIMEOUT_S <= seconds <= MAX_APPROVE_TIMEOUT_S:
        raise OptionError(f"{show(f'--approve-timeout {arg}')}: `--approve-timeout` needs a duration from 10s to 7d, "
                          "e.g. `--approve-timeout 30m` or `--approve-timeout 1h`.")
    return {"approve": True, "approve_timeout_s": seconds}


def _child(arg: str) -> Changes:
    """A well-formed name; whether a worker serves it is the catalog's to say (bot.language.grammar)."""
    child_type = arg.strip().lower()
    if CHILD_NAME.fullmatch(child_type) is None:
        raise OptionError(f"{show(f'--child {arg}')}: a child type is a name like `double` or `write-file`.")
    return {"child_type": child_type}


def child_option(catalog: Catalog) -> Option:
    """``--child``, offering the catalog's child types."""
    types = catalog.child_types
    return Option(
        "child",
        "|".join(c.name for c in types),
        "double",
        "child workflow type: " + ", ".join(f"`{c.name}` {escape(c.description)}" for c in types),
        _child,
        FormField("Child workflow type", "select", tuple(Choice(c.name, f"{c.name}: {c.description}")
                                                         for c in types)),
        lambda r: r.child_type if r.child_type != "double" else "",
    )


def options(catalog: Catalog = LAB) -> tuple[Option, ...]:
    """The options, with the catalog's child types."""
    return tuple(child_option(catalog) if o.name == "child" else o for o in OPTIONS)


def _delay_text(request: FanoutRequest) -> str:
    if request.delay_max_s <= 0:
        return ""
    lo, hi = _seconds_text(request.delay_min_s), _seconds_text(request.delay_max_s)
    return lo if lo == hi else f"{lo}-{hi}"


OPTIONS: tuple[Option, ...] = (
    Option(
        "fail",
        FAIL_RULE_HELP.replace(" ", ""),
        "even",
        "which children fail: even or odd values, none, multiples of N, or each at random with probability P",
        _fail,
        FormField("Which children fail", "select",
                  (Choice("even", "even values (the lab's rule)"), Choice("odd", "odd values"),
                   Choice("none", "none"), Choice("mod", "multiples of N"), Choice("rate", "at random, probability P")),
                  argument="N (multiples of N) or P (probability, 0-1)", takes_argument=("mod", "rate")),
        lambda r: r.fail if r.fail != "even" else "",
    ),
    Option("retries", "N", "1", f"maximum attempts per child, 1-{MAX_ATTEMPTS} (1 = no retry)", _retries,
           FormField("Attempts per child (1 = no retry)", "number", minimum=1, maximum=MAX_ATTEMPTS),
           lambda r: str(r.max_attempts) if r.max_attempts != 1 else ""),
    Option(
        "delay",
        "S|A-B",
        "0",
        f"each child first sleeps S seconds, or a random A to B seconds; at most {MAX_DELAY_S:,.0f}",
        _delay,
        FormField("Delay before each child (seconds)", "text", placeholder="0, 2, or a range like 1-5"),
        _delay_text,
    ),
    Option("sequential", "", "parallel", "start each child only after the previous one finished", _sequential,
           FormField("Children run", "radio", (Choice("parallel", "in parallel"),
                                               Choice("sequential", "one after another"))),
           lambda r: "sequential" if r.sequential else ""),
    Option(
        "batch",
        "N",
        "auto",
        f"values per child workflow; auto is 1, or more when over {MAX_CHILD_WORKFLOWS:,} values",
        _batch,
        FormField("Values per child workflow", "text", placeholder="auto"),
        lambda r: str(r.batch_size) if r.batch_size > 0 else "",
    ),
    Option("child", "NAME", "double", "child workflow type", _child, FormField("Child workflow type", "select"),
           lambda r: r.child_type if r.child_type != "double" else ""),  # as child_option() shows it
    Option("approve", "", "no", "wait for someone else in the channel to approve the run before it starts",
           _approve, FormField("Approval", "radio", (Choice("no", "start at once"),
                                                     Choice("approve", "wait for someone else to approve"))),
           lambda r: ""),
    Option("approve-timeout", "D", "1h", "how long an approval may take (10s-7d; implies `--approve`); then the run "
           "expires", _approve_timeout,
           FormField("…and if nobody decides, it expires after", "text", placeholder="1h (30m, 2d…)"),
           lambda r: ""),
)

SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand(
        "scenario",
        "<name> [options]",
        "run a named scenario (the lab's, and this workspace's)",
        "scenario large-scale",
    ),
    Subcommand("status", "<run-id>", "progress, or the result, of a run", "status <run-id>"),
    Subcommand("details", "<run-id>", "a run's details: its children and their stories", "details <run-id>"),
    Subcommand("cancel", "<run-id>", "cancel a run; results so far are kept", "cancel <run-id>"),
    Subcommand("list", "", "recent runs started in this channel", "list"),
    Subcommand("schedule", 'every <N>m|h|d | "<cron>" [--tz <zone>] <values or scenario> [options]',
               "run it every interval, or at cron times (UTC unless `--tz`, e.g. "
               "`--tz Europe/Paris`)", "schedule every 1h 1-10"),
    Subcommand("schedules", "", "this channel's schedules: next firing, last result", "schedules"),
    Subcommand("pause", "<schedule-id>", "pause a schedule", "pause <schedule-id>"),
    Subcommand("resume", "<schedule-id>", "resume a paused schedule", "resume <schedule-id>"),
    Subcommand("trigger", "<schedule-id>", "fire a schedule now", "trigger <schedule-id>"),
    Subcommand("delete", "<schedule-id>", "delete a schedule (not its runs)", "delete <schedule-id>"),
    Subcommand("help", "", "this help", "help"),
)

EXAMPLES: tuple[Example, ...] = (
    Example("Other failure rules", "1-15 --fail mod:3"),
    Example("Random failures with retries", "1-20 --fail rate:0.3 --retries 3"),
    Example("Delays", "1-10 --delay 1-5"),
    Example("Other child types", "1-10 --child square --fail none"),
    Example("Batch spawning", "1-500 --batch 10"),
    Example("Sequential vs parallel", "1-10 --delay 1 --sequential"),
    Example("Every hour, in this channel", "schedule every 1h 1-10 --fail rate:0.2"),
    Example("Someone else approves first", "1-100000 --approve"),
)


def find_option(name: str) -> Option | None:
    return next((o for o in OPTIONS if o.name == name), None)
