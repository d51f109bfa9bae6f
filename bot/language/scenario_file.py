"""A deployment's own scenarios, from a TOML file (FANOUT_SCENARIOS; scenarios.example.toml shows one). Pure
but for reading the file, once, at start.

    [scenarios.nightly]
    description = "the nightly check: a thousand values, a few random failures, retried"
    values = "1-1000"                    # /fanout values text, or a list: [1, 2, "10-20"]
    options = "--fail rate:0.05 --retries 3"
    channels = ["C0123ABCD"]             # optional: offered only there (and not on the Home or in the CLI)

Every scenario is read by the real parser (bot.language.grammar), with this deployment's FANOUT_MAX_VALUES, both as
``/fanout scenario <name>`` and as a schedule of it: a file that loads cannot fail a command later. A
mistake is one ScenarioError that names the scenario, the field and the problem, in plain text (bot.settings
turns it into the one start-up line and exit 2).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.catalog import LAB_CHILD_TYPES, SCENARIOS, Catalog, OfferedChildType, Scenario
from bot.language.grammar import ParseError, parse, values_of
from bot.mrkdwn import mrkdwn_to_text
from workflows.model import ChildPlugin, ValueRange

FIELDS = ("description", "values", "options", "channels")
REQUIRED = ("description", "values")
NAME = re.compile(r"[a-z][a-z0-9_-]{0,39}")  # what `/fanout scenario <name>` can type (it lowercases)
CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{1,20}")  # a conversation's id, as Slack sends it with the command
DESCRIPTION_MAX = 150
MAX_SCENARIOS = 60  # the form's menu holds 100 options, the lab's three among them; the Home shows 24
# `--child <name>` in a scenario's options: a team's type (bot.catalog) is checked as one, not refused
# because no worker happens to serve it while the bot starts. Whether it is an activity (batches allowed) or a
# workflow of one value is the worker's to say when it runs: it is checked as the more permissive, an activity.
_CHILD = re.compile(r"(?:^|\s)(?:--|—|–)child(?:=|\s+)(\S+)", re.IGNORECASE)
_PLACEHOLDER = ChildPlugin(task_queue="", workflow="", activity="a team's activity")


class ScenarioError(ValueError):
    """What is wrong with a scenarios file, in one line of plain text."""


@dataclass(frozen=True)
class _ScenarioField:
    """Which scenario and field a problem is in, for the message."""

    scenario: str
    field: str = ""

    def problem(self, text: str) -> ScenarioError:
        field = f', field "{self.field}"' if self.field else ""
        return ScenarioError(f'scenario "{self.scenario}"{field}: {text}')


def load_scenarios(path: Path, *, max_values: int) -> tuple[Scenario, ...]:
    """The file's scenarios, each checked as a command; ScenarioError for the first mistake."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(f"cannot read it: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ScenarioError("it is not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:  # also two tables of one name: TOML refuses to redefine a key
        raise ScenarioError(f"not valid TOML: {err}") from None
    return scenarios_from(document, max_values=max_values)


def scenarios_from(document: dict[str, Any], *, max_values: int) -> tuple[Scenario, ...]:
    """A parsed TOML document's scenarios, in the file's order."""
    extra = sorted(set(document) - {"scenarios"})
    if extra:
        raise ScenarioError(f'"{extra[0]}" is not a setting of this file; each scenario is a table '
                            f'[scenarios.<name>]')
    tables = document.get("scenarios", {})
    if not isinstance(tables, dict):
        raise ScenarioError("scenarios must be tables: [scenarios.<name>]")
    if len(tables) > MAX_SCENARIOS:
        raise ScenarioError(f"{len(tables)} scenarios; at most {MAX_SCENARIOS} fit the form and the help")
    return tuple(scenario_from(name, table, max_values=max_values) for name, table in tables.items())


def scenario_from(name: str, table: object, *, max_values: int) -> Scenario:
    """One ``[scenarios.<name>]`` table, checked as `/fanout scenario <name>` and as a schedule of it."""
    where = _ScenarioField(name)
    if NAME.fullmatch(name) is None:
        raise where.problem("a name is lowercase letters, digits, '-' and '_', a letter first, at most 40 "
                            "(it is typed after /fanout scenario)")
    if any(s.name == name for s in SCENARIOS):
        raise where.problem("the lab's built-in scenario has this name; give yours another")
    if not isinstance(table, dict):
        raise where.problem(f"is a {_kind(table)}; write it as a table, [scenarios.{name}], with its fields")
    unknown = [key for key in table if key not in FIELDS]
    if unknown:
        raise _ScenarioField(name, unknown[0]).problem(f"not a field of a scenario; its fields are {', '.join(FIELDS)}")
    missing = [key for key in REQUIRED if key not in table]
    if missing:
        raise _ScenarioField(name, missing[0]).problem("missing; every scenario needs a description and values")
    scenario = Scenario(name=name, values=tuple(_values(table["values"], _ScenarioField(name, "values"))),
                        help=_description(table["description"], _ScenarioField(name, "description")),
                        options=_options(table.get("options", ""), _ScenarioField(name, "options")),
                        channels=_channels(table.get("channels"), _ScenarioField(name, "channels")))
    _check_as_commands(scenario, max_values)
    return scenario


def _kind(value: object) -> str:
    names = {str: "string", int: "number", float: "number", bool: "true/false", list: "list", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _values(raw: object, where: _ScenarioField) -> list[ValueRange]:
    """``"1-15 20"``, or a list of numbers and range strings: ``[1, 2, "10-20"]``."""
    if isinstance(raw, list) and raw and all(isinstance(v, str | int) and not isinstance(v, bool) for v in raw):
        text = " ".join(str(v) for v in raw)
    elif isinstance(raw, str):
        text = raw
    else:
        raise where.problem(f'is a {_kind(raw)}; write values as /fanout takes them, "1-15 20", or a list '
                            '[1, 2, "10-20"]')
    ranges = values_of(text)
    if isinstance(ranges, ParseError):
        raise where.problem(_plain(ranges.problem))
    return ranges


def _description(raw: object, where: _ScenarioField) -> str:
    if not isinstance(raw, str) or not raw.strip() or "\n" in raw.strip() or len(raw.strip()) > DESCRIPTION_MAX:
        raise where.problem(f"needs one line of text, at most {DESCRIPTION_MAX} characters, saying what the "
                            "scenario shows")
    return raw.strip()


def _options(raw: object, where: _ScenarioField) -> str:
    if not isinstance(raw, str):
        raise where.problem(f'is a {_kind(raw)}; write options as /fanout takes them: "--fail mod:3 --retries 3"')
    return " ".join(raw.split())


def _channels(raw: object, where: _ScenarioField) -> frozenset[str]:
    if raw is None:
        return frozenset()
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        raise where.problem('needs a list of channel ids: ["C0123ABCD"]; leave it out to offer the scenario '
                            "everywhere")
    if not raw:
        raise where.problem("an empty list would offer the scenario nowhere; leave it out to offer it everywhere")
    for channel in raw:
        if CHANNEL_ID.fullmatch(channel.strip()) is None:
            raise where.problem(f"{channel!r} is not a channel id; ids look like C0123ABCD (a channel's details "
                                "show it at the bottom), not #names")
    return frozenset(c.strip() for c in raw)


def _check_as_commands(scenario: Scenario, max_values: int) -> None:
    """Run the scenario through the real parser, as a command and as a schedule (which refuses approvals), in
    a channel it is offered in: whatever it would refuse later is refused now."""
    named = {m[1].lower() for m in _CHILD.finditer(scenario.options)} - {c.name for c in LAB_CHILD_TYPES}
    team = tuple(OfferedChildType(name, "a team's own", plugin=_PLACEHOLDER) for name in sorted(named))
    catalog = Catalog((*SCENARIOS, scenario), LAB_CHILD_TYPES + team)
    for text in (f"scenario {scenario.name}", f"schedule every 1h scenario {scenario.name}"):
        parsed = parse(text, max_values=max_values, catalog=catalog)
        if isinstance(parsed, ParseError):
            raise _ScenarioField(scenario.name, _field_of(parsed, scenario)).problem(_plain(parsed.problem))


def _field_of(error: ParseError, scenario: Scenario) -> str:
    """The file's field a parser's error is about. The command has no words of the user's and its values were
    read already, so only how many values there are (and a batch too big for them, when ``options`` sets no
    ``--batch``) is about ``values``; every other word the parser refuses is one of ``options``."""
    if error.field == "scenario" or (error.field == "batch" and "batch" not in scenario.options.lower()):
        return "values"
    return "options"


def _plain(mrkdwn: str) -> str:
    """A parser's message (mrkdwn) as one line of plain text."""
    return " ".join(mrkdwn_to_text(mrkdwn, plain=True).replace("`", "").split())

