"""What one deployment offers: its scenarios and its child types. Pure.

The lab's three scenarios and two child types are always there. A deployment adds scenarios from a file
(FANOUT_SCENARIOS) and child types from plugins its workers serve (bot.child_types reads them from
Temporal). The parser, the help, the form and the Home all take a ``Catalog``, so they offer the same.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from workflows.model import ChildPlugin, ValueRange
from workflows.rules import CHILD_TYPES
from workflows.values import compress


@dataclass(frozen=True)
class Scenario:
    name: str
    values: tuple[ValueRange, ...]  # ranges, never expanded: a file's scenario may be 1-1000000
    help: str  # its one-line description
    options: str = ""  # /fanout options it runs with; the user's own options override these
    channels: frozenset[str] = frozenset()  # the channel ids it is offered in; empty: everywhere

    def offered_in(self, channel_id: str) -> bool:
        """Whether a channel is offered it. "" (the Home, the CLI: no channel) is offered only unlimited ones."""
        return not self.channels or channel_id in self.channels


@dataclass(frozen=True)
class ChildType:
    name: str
    description: str
    lab: bool = False  # the lab's own: `--fail` and `--delay` shape it; a team's child fails on its own
    plugin: ChildPlugin | None = None  # a team's: where its children run (bot.child_types)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("all-success", tuple(compress((1, 3, 5, 7, 9))), "odd values, every child succeeds"),
    Scenario("all-failures", tuple(compress((2, 4, 6, 8))), "even values, every child fails"),
    Scenario("large-scale", tuple(compress(range(1, 16))), "15 children, about half fail"),
)
LAB_CHILD_TYPES: tuple[ChildType, ...] = tuple(ChildType(name, what, lab=True) for name, what in CHILD_TYPES.items())


@dataclass(frozen=True)
class Catalog:
    scenarios: tuple[Scenario, ...] = SCENARIOS
    child_types: tuple[ChildType, ...] = LAB_CHILD_TYPES
    elsewhere: frozenset[str] = frozenset()  # scenarios offered only in other channels (refused as such)

    def for_channel(self, channel_id: str) -> Catalog:
        """What one channel is offered ("": where no channel is known): scenarios limited to other channels
        are left out, and remembered by name so the parser can say why it refuses them."""
        offered = tuple(s for s in self.scenarios if s.offered_in(channel_id))
        hidden = {s.name for s in self.scenarios if not s.offered_in(channel_id)}
        return replace(self, scenarios=offered, elsewhere=self.elsewhere | hidden)

    def child_type(self, name: str) -> ChildType | None:
        return next((c for c in self.child_types if c.name == name), None)

    def scenario(self, name: str) -> Scenario | None:
        return next((s for s in self.scenarios if s.name == name), None)


LAB = Catalog()
