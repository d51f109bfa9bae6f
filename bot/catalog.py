"""What one deployment offers: its scenarios and its child types. Pure.

The lab's three scenarios and two child types are always there. A deployment adds scenarios from a file
(FANOUT_SCENARIOS) and child types from plugins its workers serve (bot.child_types reads them from
Temporal). The parser, the help, the form and the Home all take a ``Catalog``, so they offer the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.model import ChildPlugin
from workflows.rules import CHILD_TYPES


@dataclass(frozen=True)
class Scenario:
    name: str
    values: tuple[int, ...]
    help: str


@dataclass(frozen=True)
class ChildType:
    name: str
    description: str
    lab: bool = False  # the lab's own: `--fail` and `--delay` shape it; a team's child fails on its own
    plugin: ChildPlugin | None = None  # a team's: where its children run (bot.child_types)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("all-success", (1, 3, 5, 7, 9), "odd values, every child succeeds"),
    Scenario("all-failures", (2, 4, 6, 8), "even values, every child fails"),
    Scenario("large-scale", tuple(range(1, 16)), "15 children, about half fail"),
)
LAB_CHILD_TYPES: tuple[ChildType, ...] = tuple(ChildType(name, what, lab=True) for name, what in CHILD_TYPES.items())


@dataclass(frozen=True)
class Catalog:
    scenarios: tuple[Scenario, ...] = SCENARIOS
    child_types: tuple[ChildType, ...] = LAB_CHILD_TYPES

    def child_type(self, name: str) -> ChildType | None:
        return next((c for c in self.child_types if c.name == name), None)

    def scenario(self, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.name == name), None)


LAB = Catalog()
