"""The command table (bot.language.table) as text: the help, the short usage, and the /fanout text of a request
(the parser's inverse, which a retry records). Pure."""

from __future__ import annotations

from bot.catalog import LAB, Catalog, Scenario
from bot.language.table import EXAMPLES, OPTIONS, SUBCOMMANDS, Option, options
from bot.mrkdwn import escape
from workflows.model import FanoutRequest, ValueRange


def option_names() -> str:
    return ", ".join(f"`{o.flag}`" for o in OPTIONS)


def _scenario_line(scenario: Scenario, ranges_shown: int = 8) -> str:
    """A scenario in the help: its name, its values (the first few ranges), its options and what it is."""
    values = " ".join(range_text(r) for r in scenario.values[:ranges_shown])
    if len(scenario.values) > ranges_shown:
        values += f" …({len(scenario.values) - ranges_shown:,} more ranges)"
    options = f" {_code(scenario.options)}" if scenario.options else ""
    return f"    ◦ {_code(scenario.name)}: {values}{options} — {escape(scenario.help)}"


def range_text(r: ValueRange) -> str:
    """A range as /fanout takes it: ``7``, ``1-15``, ``-5..-1``."""
    if r.start == r.end:
        return str(r.start)
    return f"{r.start}..{r.end}" if r.start < 0 or r.end < 0 else f"{r.start}-{r.end}"


def option_text(option: Option, value: str) -> str:
    """``--name value`` (a flag alone), or "" for a default value."""
    if not value or value == option.default:
        return ""
    return option.flag if not option.arg else f"{option.flag} {value}"


def command_text(request: FanoutRequest, limit: int = 2000) -> str:
    """The /fanout text that makes ``request``: the inverse of bot.language.grammar for a run (what a retry records).

    Values past ``limit`` characters are summarised as ``…(N more ranges)``, so the text stays small
    however many values failed; options are always complete."""
    options = [t for t in (option_text(o, o.shown(request)) for o in OPTIONS) if t]
    return " ".join([values_text(request, limit)] + options).strip()


def values_text(request: FanoutRequest, limit: int = 2000) -> str:
    """The request's values as /fanout writes them, summarised past ``limit`` characters."""
    values: list[str] = []
    used = 0
    for i, r in enumerate(request.ranges):
        text = range_text(r)
        if used + len(text) > limit:
            values.append(f"…({len(request.ranges) - i:,} more ranges)")
            break
        values.append(text)
        used += len(text) + 1
    return " ".join(values)


def _code(text: str) -> str:
    return f"`{escape(text)}`"


def usage_text() -> str:
    """A few lines for errors: what a command looks like, and where the full help is."""
    return "\n".join(
        (
            "*Usage:* " + " · ".join(_code(f"/fanout {t}") for t in ("1 2 3 4 5", "1-15 --fail mod:3 --retries 3")),
            "Also: " + " · ".join(_code(f"/fanout {s.example}") for s in SUBCOMMANDS),
            f"{_code('/fanout help')} lists every option.",
        )
    )


def help_text(catalog: Catalog = LAB) -> str:
    """The full help (Slack mrkdwn), generated from the command table; fits one section block."""
    lines = [
        "*/fanout* runs a Temporal fan-out: a parent workflow starts one child workflow per value "
        "and reports every result and failure.",
        "",
        "*Values*: "
        + " · ".join(_code(t) for t in ("1 2 3", "1,2,3", "1-15", "-3", "-5..-1"))
        + " — order is kept and duplicates run twice.",
        "",
        "*Commands*",
        f"• {_code('/fanout <values> [options]')} — start a run",
    ]
    for sub in SUBCOMMANDS:
        lines.append(f"• {_code(f'/fanout {sub.name} {sub.args}'.rstrip())} — {sub.help}")
        if sub.name == "scenario":
            lines += [_scenario_line(s) for s in catalog.scenarios]
    lines += ["", "*Options* (anywhere, each once; `--opt=value` and `—opt` work too)"]
    lines += [f"• {_code(o.syntax)} (default {o.default}) — {o.help}" for o in options(catalog)]
    lines += ["", "*Experiments*"]
    lines += [f"• {e.title}: {_code(f'/fanout {e.text}')}" for e in EXAMPLES]
    return "\n".join(lines)
