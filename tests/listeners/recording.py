"""Stand-ins for what a listener is given, recording what it does, in order: a recording ``Operations`` (never a
stand-in for Temporal's client: the operations are what a listener talks to), Bolt's ``ack``/``respond``/``fail``,
and a Slack client that records ``views_open``, ``views_push`` and ``views_update`` (answering as Slack does, or with
an error set up in ``failing``). The parser and the catalog are the real ones (pure)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.catalog import LAB, Catalog
from bot.language.grammar import Command, ParseError, parse
from bot.operations.permissions import Caller, refusal
from bot.settings import Settings
from tests.conftest import settings_for_tests


class Journal:
    """What happened, in order: ("ack", kwargs), ("runs.status", args, kwargs), ("respond", kwargs), ..."""

    def __init__(self) -> None:
        self.entries: list[tuple[Any, ...]] = []

    def names(self) -> list[str]:
        return [e[0] for e in self.entries]

    def first(self, name: str) -> tuple[Any, ...]:
        return next(e for e in self.entries if e[0] == name)


class _Group:
    """One group of operations (runs, schedules, approvals, steps): every method records its call and returns
    what ``answers`` holds for it (None by default), or raises it if it is an exception."""

    def __init__(self, journal: Journal, name: str, answers: dict[str, Any]) -> None:
        self._journal, self._name, self._answers = journal, name, answers

    def __getattr__(self, method: str) -> Any:
        full = f"{self._name}.{method}"

        async def call(*args: Any, **kwargs: Any) -> Any:
            self._journal.entries.append((full, args, kwargs))
            answer = self._answers.get(full)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        return call


class RecordingOperations:
    def __init__(self, journal: Journal, *, settings: Settings | None = None, catalog: Catalog = LAB,
                 fresh: Catalog | None = None, answers: dict[str, Any] | None = None) -> None:
        self.journal = journal
        self.settings = settings or settings_for_tests("http://unused/", "unused")
        self.answers = answers or {}
        self._catalog, self._fresh = catalog, fresh or catalog
        self.runs = _Group(journal, "runs", self.answers)
        self.schedules = _Group(journal, "schedules", self.answers)
        self.approvals = _Group(journal, "approvals", self.answers)
        self.steps = _Group(journal, "steps", self.answers)
        self.details = _Group(journal, "details", self.answers)

    def refusal(self, caller: Caller) -> str | None:
        return refusal(self.settings, caller)

    def catalog(self, channel_id: str) -> Catalog:
        return self._catalog.for_channel(channel_id)

    async def fresh_catalog(self, channel_id: str) -> Catalog:
        self.journal.entries.append(("fresh_catalog", channel_id))
        return self._fresh.for_channel(channel_id)

    def parse(self, text: str, catalog: Catalog) -> Command | ParseError:
        return parse(text, max_values=self.settings.max_values, catalog=catalog)

    async def open_home(self, caller: Caller) -> None:
        self.journal.entries.append(("open_home", caller))

    def with_settings(self, **changes: Any) -> RecordingOperations:
        self.settings = replace(self.settings, **changes)
        return self


class Bolt:
    """Bolt's ack, respond and fail for one request, and a Slack client that records the views methods. ``failing``:
    method name -> the Slack error its next call answers (views_update: "hash_conflict", …)."""

    def __init__(self, journal: Journal, failing: dict[str, str] | None = None) -> None:
        self.journal = journal
        self.failing = dict(failing or {})

    async def ack(self, **kwargs: Any) -> None:
        self.journal.entries.append(("ack", kwargs))

    async def respond(self, **kwargs: Any) -> None:
        self.journal.entries.append(("respond", kwargs))

    async def fail(self, error: str) -> None:
        self.journal.entries.append(("fail", error))

    async def _view_call(self, method: str, view_id: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.journal.entries.append((method, kwargs))
        if error := self.failing.pop(method, None):
            raise SlackApiError(error, {"ok": False, "error": error})
        return {"ok": True, "view": {"id": view_id, "hash": f"hash-of-{view_id}"}}

    async def views_open(self, **kwargs: Any) -> dict[str, Any]:
        return await self._view_call("views_open", "VOPENED", kwargs)

    async def views_push(self, **kwargs: Any) -> dict[str, Any]:
        return await self._view_call("views_push", "VPUSHED", kwargs)

    async def views_update(self, **kwargs: Any) -> dict[str, Any]:
        return await self._view_call("views_update", str(kwargs.get("view_id")), kwargs)
