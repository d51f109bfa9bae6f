"""The custom search attributes /fanout records on each run's reporter workflow (typed keys).

They make a run findable by where it belongs: ``list`` is one visibility query on the channel, and
status, cancel and retry act only on a run whose reporter carries the caller's workspace and channel.
Values are Slack ids (never names) and a status word; Temporal stores search attributes unencrypted,
so nothing else goes in them.

A namespace needs them registered once: the dev server of ``make dev`` and of the tests passes
``--search-attribute`` (devkit.temporal_server); a self-hosted cluster needs ``temporal operator
search-attribute create`` and Temporal Cloud its UI or ``tcld`` (docs/configuration.md, "Search attributes").
The bot and the worker check at start that they exist (``missing``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

from runtime.config import ConfigError

TEAM = SearchAttributeKey.for_keyword("FanoutTeam")  # Slack workspace (team) id
CHANNEL = SearchAttributeKey.for_keyword("FanoutChannel")  # Slack channel id the run reports in
USER = SearchAttributeKey.for_keyword("FanoutUser")  # Slack user id of who started it
STATUS = SearchAttributeKey.for_keyword("FanoutStatus")  # running | completed | cancelled | ... (the bot's reporter)
SCHEDULE = SearchAttributeKey.for_keyword("FanoutSchedule")  # the schedule that fired the run, if any

ALL: tuple[SearchAttributeKey[str], ...] = (TEAM, CHANNEL, USER, STATUS, SCHEDULE)
_SLACK_ID = re.compile(r"[A-Z0-9]{1,40}")
TYPE_NAME = "Keyword"  # every key above is a keyword: exact match, as ids need


def is_slack_id(value: str) -> bool:
    """A Slack id (team, channel, user): safe to put in a visibility query as it is."""
    return bool(_SLACK_ID.fullmatch(value))


def for_run(team_id: str, channel_id: str, user_id: str, status: str = "running",
            schedule_id: str = "") -> TypedSearchAttributes:
    """A reporter's attributes at start."""
    pairs = [SearchAttributePair(TEAM, team_id), SearchAttributePair(CHANNEL, channel_id),
             SearchAttributePair(USER, user_id), SearchAttributePair(STATUS, status)]
    if schedule_id:
        pairs.append(SearchAttributePair(SCHEDULE, schedule_id))
    return TypedSearchAttributes(pairs)


def missing(registered: Mapping[str, object]) -> list[str]:
    """Names of our attributes absent from a namespace's custom attributes (name -> indexed type)."""
    return [key.name for key in ALL if key.name not in registered]


def create_commands(names: list[str]) -> str:
    """The operator's one-liner to register ``names`` on a self-hosted cluster. One command per name: the
    CLI (1.9.1) takes several ``--name`` flags but registers only the first."""
    return " && ".join(f"temporal operator search-attribute create --name {name} --type {TYPE_NAME}"
                       for name in names)


async def check(client: Client) -> None:
    """Raise ConfigError (one line: what is missing, and the command that adds it) unless the namespace
    has every attribute."""
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace), timeout=timedelta(seconds=10))
    absent = missing(dict(response.custom_attributes))
    if absent:
        raise ConfigError(f"Temporal namespace {client.namespace!r} lacks the search attributes "
                          f"{', '.join(absent)} ({TYPE_NAME}); add them with: {create_commands(absent)}")
