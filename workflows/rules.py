"""Which children fail, and what a child computes. Pure and deterministic.

The randomness for ``rate:P`` is passed in (``workflow.random()`` inside workflows), so the
same rules are replay-safe in workflow code and testable anywhere.

Imported inside the workflow sandbox, which re-imports it for every child run: its two types are
plain classes with ``__slots__``, which cost next to nothing to define (a frozen dataclass generates
and compiles its methods: ~0.3 ms each, for every child).
"""

from __future__ import annotations

from collections.abc import Sequence
from random import Random

FAIL_RULE_HELP = "even | odd | none | mod:N | rate:P"


class RuleError(ValueError):
    """A failure rule or child type that does not parse; the message says how to write it."""


def failure_message(template: str, value: int) -> str:
    """A failure's message from its template: the one place templates are filled in, shared by
    the workflows (a child's error) and the bot (a batch's rows)."""
    return template.replace("{value}", str(value))


class Failure:
    __slots__ = ("kind", "template")

    def __init__(self, kind: str, template: str) -> None:
        self.kind = kind  # the ApplicationError type: groups failures in the summary
        self.template = template  # the message with "{value}" standing for the value

    def message(self, value: int) -> str:
        return failure_message(self.template, value)


SIMULATED = Failure("SimulatedFailure", "Simulated failure for value {value}")
RANDOM = Failure("RandomFailure", "Random failure for value {value}")


class FailRule:
    __slots__ = ("name", "modulus", "rate")

    def __init__(self, name: str, modulus: int = 2, rate: float = 0.0) -> None:
        self.name = name  # even | odd | none | mod | rate
        self.modulus = modulus
        self.rate = rate

    def failure_for(self, value: int, rng: Random | None) -> Failure | None:
        """The failure of ``value`` under this rule, or None when it succeeds."""
        if self.name == "none":
            return None
        if self.name == "rate":
            # Always draw, so a run's random sequence doesn't depend on the other values.
            assert rng is not None, "rate rules need workflow.random()"
            return RANDOM if rng.random() < self.rate else None
        if self.name == "even":
            fails = value % 2 == 0
        elif self.name == "odd":
            fails = value % 2 != 0
        else:  # mod
            fails = value % self.modulus == 0
        return SIMULATED if fails else None


    @property
    def failure(self) -> Failure | None:
        """The one failure this rule produces (all its failures are alike), or None for ``none``."""
        return None if self.name == "none" else RANDOM if self.name == "rate" else SIMULATED

    def failing(self, values: Sequence[int], rng: Random | None) -> list[int]:
        """Positions in ``values`` that fail under this rule, in order: ``failure_for`` for many values at
        once (one pass, no call per value; ``rate`` draws once per value, in order, as failure_for does)."""
        name = self.name
        if name == "none":
            return []
        if name == "rate":
            assert rng is not None, "rate rules need workflow.random()"
            draw, rate = rng.random, self.rate
            return [i for i in range(len(values)) if draw() < rate]
        if name == "even":
            return [i for i, v in enumerate(values) if v % 2 == 0]
        if name == "odd":
            return [i for i, v in enumerate(values) if v % 2 != 0]
        modulus = self.modulus
        return [i for i, v in enumerate(values) if v % modulus == 0]


def parse_fail_rule(text: str) -> FailRule:
    """``even``, ``odd``, ``none``, ``mod:N`` (N >= 1) or ``rate:P`` (0 <= P <= 1)."""
    spec = text.strip().lower()
    if spec in ("even", "odd", "none"):
        return FailRule(spec)
    kind, _, arg = spec.partition(":")
    if kind == "mod":
        try:
            modulus = int(arg)
        except ValueError:
            raise RuleError(f"`mod:N` needs a whole number N >= 1 (e.g. `mod:3`); try {FAIL_RULE_HELP}") from None
        if modulus < 1:
            raise RuleError("`mod:N` needs N >= 1 (e.g. `mod:3`)")
        return FailRule("mod", modulus=modulus)
    if kind == "rate":
        try:
            rate = float(arg)
        except ValueError:
            raise RuleError(f"`rate:P` needs a probability 0..1 (e.g. `rate:0.3`); try {FAIL_RULE_HELP}") from None
        if not 0.0 <= rate <= 1.0:
            raise RuleError("`rate:P` needs 0 <= P <= 1 (e.g. `rate:0.3`)")
        return FailRule("rate", rate=rate)
    raise RuleError(f"unknown failure rule; use {FAIL_RULE_HELP}")


# Child types: the lab's "implement different child types" experiment. Each has its own
# workflow type (see workflows.child) and its own computation.
CHILD_TYPES: dict[str, str] = {
    "double": "value × 2 (the lab's ChildWorkflow)",
    "square": "value² (SquareChildWorkflow)",
}


def compute(child_type: str, value: int) -> int:
    if child_type == "square":
        return value * value
    return value * 2


def compute_all(child_type: str, values: Sequence[int]) -> list[int]:
    """``compute`` for many values at once (a batch's work: one comprehension, no call per value)."""
    if child_type == "square":
        return [v * v for v in values]
    return [v * 2 for v in values]
