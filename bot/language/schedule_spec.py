"""When a schedule fires: ``every <N>m|h|d`` or a quoted cron expression, and its time zone. Pure.

``/fanout schedule every 1h 1-10 --fail rate:0.2`` · ``/fanout schedule "0 9 * * MON-FRI" --tz Europe/Paris
scenario large-scale``. Cron times are in UTC unless ``--tz`` names an IANA time zone. What follows the
spec is an ordinary run (values or a scenario, and options), parsed by bot.language.grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.language.table import MIN_EVERY_S, duration_s, duration_text, show

QUOTES = {'"': '"', "“": "”", "”": "”", "'": "'", "‘": "’"}  # Slack clients may send typographic quotes
_CRON_TERM = re.compile(r"(?:(\*|\?)|([0-9A-Za-z]+)(?:-([0-9A-Za-z]+))?)(?:/([0-9]+))?")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# Each cron field: its name, its range, and the names it takes (month JAN=1, weekday SUN=0, 7 also Sunday).
CRON_FIELDS = (("minute", 0, 59, ()), ("hour", 0, 23, ()), ("day of month", 1, 31, ()),
               ("month", 1, 12, MONTHS), ("weekday", 0, 7, DAYS))
EXAMPLES = ('`/fanout schedule every 1h 1-10 --fail rate:0.2`',
            '`/fanout schedule "0 9 * * MON-FRI" --tz Europe/Paris scenario large-scale`')


class SpecError(ValueError):
    """Not a schedule spec; the message (mrkdwn, user text escaped) says how to write one."""


@dataclass(frozen=True)
class When:
    every_s: float = 0.0  # an interval, or ...
    cron: str = ""  # ... a cron expression (5 fields: minute hour day-of-month month day-of-week)
    time_zone: str = "UTC"

    @property
    def text(self) -> str:
        if self.every_s:
            return f"every {duration_text(self.every_s)}"
        return f'"{self.cron}"' + (f" ({self.time_zone})" if self.time_zone != "UTC" else " (UTC)")


def _how() -> str:
    return f"write it like {EXAMPLES[0]} or {EXAMPLES[1]}"


def split_spec(text: str) -> tuple[When, str]:
    """The spec at the start of ``text`` (what follows `schedule`), and the run text after it. Raises SpecError."""
    text = text.strip()
    if not text:
        raise SpecError(f"`schedule` needs when and what to run; {_how()}.")
    if text[0] in QUOTES:
        close = text.find(QUOTES[text[0]], 1)
        if close < 0:
            raise SpecError(f"The cron expression has no closing quote; {_how()}.")
        when, rest = When(cron=_cron(text[1:close])), text[close + 1:]
    else:
        words = text.split(None, 2)
        if words[0].lower() != "every" or len(words) < 2:
            raise SpecError(f"{show(words[0])} is not `every N` (with m, h or d) nor a quoted cron expression; "
                            f"{_how()}.")
        seconds = duration_s(words[1])
        if seconds is None or seconds < MIN_EVERY_S:
            raise SpecError(f"{show('every ' + words[1])}: the interval is a number and a unit, at least 1m "
                            f"(e.g. `every 30m`, `every 1h`, `every 1d`); {_how()}.")
        when, rest = When(every_s=seconds), words[2] if len(words) > 2 else ""
    zone, rest = _time_zone(rest)
    if zone:
        if when.every_s:
            raise SpecError(f"`--tz` is for cron times (an interval runs the same in every time zone); {_how()}.")
        when = When(cron=when.cron, time_zone=zone)
    if not rest.strip():
        raise SpecError(f"The schedule needs something to run after its spec; {_how()}.")
    return when, rest


def _cron(expression: str) -> str:
    fields = expression.split()
    if len(fields) != 5:
        raise SpecError(f"{show(expression)} is not a cron expression of 5 fields (minute hour day month weekday, "
                        f"e.g. `\"0 9 * * MON-FRI\"`); {_how()}.")
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        if not all(_cron_term(term, low, high, names) for term in text.split(",")):
            span = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
            raise SpecError(f"{show(text)} is not a valid {name} ({span}, `*`, lists, ranges and `/steps`) in "
                            f"{show(expression)}; {_how()}.")
    return " ".join(fields)


def _cron_term(term: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    match = _CRON_TERM.fullmatch(term)
    if match is None:
        return False
    star, first, last, step = match.groups()
    if step is not None and int(step) == 0:
        return False
    if star:
        return True
    numbers = [_cron_number(v, names) for v in (first, last) if v is not None]
    bounds = [n for n in numbers if n is not None and low <= n <= high]
    return len(bounds) == len(numbers) and (len(bounds) == 1 or bounds[0] <= bounds[1])


def _cron_number(value: str, names: tuple[str, ...]) -> int | None:
    if value.isdigit():
        return int(value)
    upper = value.upper()
    if upper in names:
        return names.index(upper) + (1 if names is MONTHS else 0)
    return None


def _time_zone(rest: str) -> tuple[str, str]:
    """``--tz <zone>`` wherever it is in ``rest`` (validated), and ``rest`` without it."""
    words = rest.split()
    for i, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name.lstrip("-—–").lower() != "tz" or not name.startswith(("--", "—", "–")):
            continue
        zone = value if eq else (words[i + 1] if i + 1 < len(words) else "")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SpecError(f"{show(zone or '--tz')}: `--tz` needs an IANA time zone, e.g. `--tz Europe/Paris` "
                            "or `--tz America/New_York`.") from None
        kept = words[:i] + words[i + (1 if eq else 2):]
        return zone, " ".join(kept)
    return "", rest
