"""Slack's limits for the loopback FakeSlack (devkit.fake_slack.web_api): rate tiers per workspace, and views
(modals, App Home tabs): a trigger id's 3 s, a stack of 3 modals, hashes. What a view may hold is checked with
every other payload by devkit.fake_slack.blockkit.

Rates are Slack's published values: Tier 3 is 50 calls per rolling minute, Tier 4 100; chat.postMessage is a token
bucket per channel (1 per second, bursts of 3) under a workspace cap of 300 per minute. ``history_restricted`` models
Slack's 2025 terms for commercially distributed apps outside the Marketplace: conversations.history and
conversations.replies get 1 request per minute and at most 15 messages each.
"""

from __future__ import annotations

import functools
import math
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

WINDOW_S = 60.0
_RATE_SUFFIXES = ("_per_minute", "_per_second")
_EPSILON = 1e-9  # float slack, so a call exactly at the end of a window or a refill is allowed


class _ClassOrInstance:
    """``SlackLimits.scaled(20)`` scales the defaults; ``limits.scaled(20)`` scales ``limits``."""

    def __init__(self, func: Callable[[SlackLimits, float], SlackLimits]) -> None:
        self.func = func

    def __get__(self, obj: SlackLimits | None, cls: type[SlackLimits]) -> Callable[[float], SlackLimits]:
        return functools.partial(self.func, obj if obj is not None else cls())


@dataclass(frozen=True)
class SlackLimits:
    """Per-workspace limits. ``*_per_minute`` are calls per rolling 60 s, *each* method of a group counted apart;
    None means unlimited. Methods not named here (auth.test, apps.connections.open, ...) are unlimited."""

    chat_update_per_minute: float | None = 50  # Tier 3
    post_per_channel_per_second: float | None = 1.0  # chat.postMessage: a token bucket per channel ...
    post_burst: int = 3  # ... holding this many tokens
    post_workspace_per_minute: float | None = 300  # chat.postMessage, all channels together
    ephemeral_per_minute: float | None = 100  # chat.postEphemeral, Tier 4
    files_per_minute: float | None = 100  # files.getUploadURLExternal, files.completeUploadExternal: Tier 4
    views_per_minute: float | None = 100  # views.open/push/update/publish: Tier 4
    history_per_minute: float | None = 50  # conversations.history, conversations.replies: Tier 3
    history_restricted: bool = False  # Slack's 2025 terms for non-Marketplace commercial apps:
    restricted_history_per_minute: float | None = 1  # ... 1 request per minute
    restricted_history_messages: int = 15  # ... and at most this many messages returned
    conversations_open_per_minute: float | None = 50  # Tier 3
    users_info_per_minute: float | None = 100  # Tier 4
    functions_per_minute: float | None = 50  # functions.completeSuccess, functions.completeError: Tier 3

    @_ClassOrInstance
    def scaled(self, factor: float) -> SlackLimits:
        """Every rate times ``factor`` (counts such as ``post_burst`` stay)."""
        rates = {f.name: getattr(self, f.name) * factor for f in fields(self)
                 if f.name.endswith(_RATE_SUFFIXES) and getattr(self, f.name) is not None}
        return replace(self, **rates)

    @classmethod
    def off(cls) -> SlackLimits:
        """No rate limits at all (and full history reads)."""
        rates: dict[str, Any] = {f.name: None for f in fields(cls) if f.name.endswith(_RATE_SUFFIXES)}
        return cls(**rates)

    def per_minute(self, method: str) -> float | None:
        """The rolling-minute limit of ``method`` (chat.postMessage: its workspace cap)."""
        if method in ("conversations.history", "conversations.replies"):
            return self.restricted_history_per_minute if self.history_restricted else self.history_per_minute
        group = _GROUPS.get(method)
        return getattr(self, group) if group else None

    def history_cap(self, limit: int) -> int:
        return min(limit, self.restricted_history_messages) if self.history_restricted else limit


_GROUPS = {
    "chat.update": "chat_update_per_minute", "chat.postMessage": "post_workspace_per_minute",
    "chat.postEphemeral": "ephemeral_per_minute",
    "files.getUploadURLExternal": "files_per_minute", "files.completeUploadExternal": "files_per_minute",
    "views.open": "views_per_minute", "views.push": "views_per_minute", "views.update": "views_per_minute",
    "views.publish": "views_per_minute", "conversations.open": "conversations_open_per_minute",
    "users.info": "users_info_per_minute",
    "functions.completeSuccess": "functions_per_minute", "functions.completeError": "functions_per_minute",
}


def retry_after(wait_s: float) -> int:
    """Slack's Retry-After: whole seconds until the next call would be allowed, at least 1."""
    return max(1, math.ceil(wait_s - _EPSILON))


class RateLimiter:
    """Counts executed calls against ``SlackLimits``; a refused call counts for nothing."""

    def __init__(self, limits: SlackLimits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[str, deque[float]] = {}  # method -> times of its admitted calls
        self._buckets: dict[str, tuple[float, float]] = {}  # channel -> (tokens, when counted)

    def reset(self) -> None:
        self._windows.clear()
        self._buckets.clear()

    def admit(self, method: str, channel: str | None = None) -> int | None:
        """Count a call of ``method`` now and return None, or return its Retry-After if it is over a limit."""
        now = self.clock()
        waits = [self._window_wait(method, now)]
        tokens = None
        if method == "chat.postMessage" and channel and self.limits.post_per_channel_per_second is not None:
            tokens, wait = self._bucket(channel, now, self.limits.post_per_channel_per_second)
            waits.append(wait)
        if (longest := max(waits)) > 0:
            return retry_after(longest)
        if self.limits.per_minute(method) is not None:
            self._windows.setdefault(method, deque()).append(now)
        if tokens is not None and channel:
            self._buckets[channel] = (tokens - 1, now)
        return None

    def _window_wait(self, method: str, now: float) -> float:
        per_minute = self.limits.per_minute(method)
        if per_minute is None:
            return 0.0
        # A fractional limit (scaled below 1/min, or e.g. 52.5/min) becomes n calls per a longer/shorter window.
        count = max(1, math.floor(per_minute + _EPSILON))
        window = WINDOW_S * count / per_minute
        times = self._windows.setdefault(method, deque())
        while times and now - times[0] >= window - _EPSILON:
            times.popleft()
        return 0.0 if len(times) < count else times[len(times) - count] + window - now

    def _bucket(self, channel: str, now: float, rate: float) -> tuple[float, float]:
        """(tokens now, seconds until one token is there)."""
        burst = max(1, self.limits.post_burst)
        tokens, then = self._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - then) * rate)
        return tokens, 0.0 if tokens >= 1 - _EPSILON else (1 - tokens) / rate


# -- views ------------------------------------------------------------------------------------------------------

TRIGGER_TTL_S = 3.0
MAX_VIEW_STACK = 3  # a modal plus 2 pushed views


def _invalid(*messages: str) -> dict[str, Any]:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(messages)}}


class Views:
    """What views.open/push/update/publish keep: ``opened`` modals (``FakeSlack.views``: dicts of id, view,
    trigger_id, method, hash, external_id, updates, root_view_id, previous_view_id) and ``home_tabs`` (user id ->
    the last view published)."""

    def __init__(self, wall_clock: Callable[[], float]) -> None:
        self.wall_clock = wall_clock
        self.opened: list[dict[str, Any]] = []
        self.home_tabs: dict[str, dict[str, Any]] = {}
        self._home: dict[str, dict[str, Any]] = {}  # user id -> {"id", "hash", "publishes"}
        self._stack: list[str] = []  # the modal on screen: the opened view's id, then the pushed ones'
        self._used_triggers: set[str] = set()
        self._seq = 0
        self._prefix = secrets.token_hex(3).upper()  # view ids are unique across workspaces, as Slack's

    def clear(self) -> None:
        for store in (self.opened, self.home_tabs, self._home, self._stack, self._used_triggers):
            store.clear()

    def publishes(self, user_id: str) -> int:
        return int(self._home.get(user_id, {}).get("publishes", 0))

    def open(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._open(p, "views.open")

    def push(self, p: dict[str, Any]) -> dict[str, Any]:
        return self._open(p, "views.push")

    def update(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("view_id") and not p.get("external_id"):
            return _invalid("[ERROR] either view_id or external_id is required")
        record = next((v for v in self.opened if v["id"] == p.get("view_id")
                       or (p.get("external_id") and v["external_id"] == p.get("external_id"))), None)
        if record is None:
            return {"ok": False, "error": "not_found"}
        if p.get("hash") and p["hash"] != record["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        view = self._answer(p["view"], record["id"])
        record.update(view=p["view"], hash=view["hash"], updates=record["updates"] + 1)
        return {"ok": True, "view": view}

    def publish(self, p: dict[str, Any]) -> dict[str, Any]:
        user = str(p.get("user_id") or "")
        if not user:
            return _invalid("[ERROR] missing required field: user_id")
        home = self._home.get(user)
        if p.get("hash") and (home is None or p["hash"] != home["hash"]):
            return {"ok": False, "error": "hash_conflict"}
        view = self._answer(p["view"], home["id"] if home else None)
        self._home[user] = {"id": view["id"], "hash": view["hash"], "publishes": self.publishes(user) + 1}
        self.home_tabs[user] = p["view"]
        return {"ok": True, "view": view}

    def _open(self, p: dict[str, Any], method: str) -> dict[str, Any]:
        trigger = str(p.get("trigger_id") or p.get("interactivity_pointer") or "")
        if error := self._trigger_error(trigger):
            return {"ok": False, "error": error}
        pushed = method == "views.push"
        if pushed and len(self._stack) >= MAX_VIEW_STACK:
            return {"ok": False, "error": "push_limit_reached"}
        external_id = p["view"].get("external_id")
        if external_id and any(v["external_id"] == external_id for v in self.opened):
            return {"ok": False, "error": "duplicate_external_id"}
        self._used_triggers.add(trigger)
        view = self._answer(p["view"])
        view["previous_view_id"] = self._stack[-1] if pushed and self._stack else None
        self._stack = [*self._stack, view["id"]] if pushed else [view["id"]]
        view["root_view_id"] = self._stack[0]
        self.opened.append({"id": view["id"], "view": p["view"], "trigger_id": trigger, "method": method,
                            "hash": view["hash"], "external_id": external_id, "updates": 0,
                            "root_view_id": view["root_view_id"], "previous_view_id": view["previous_view_id"]})
        return {"ok": True, "view": view}

    def _trigger_error(self, trigger: str) -> str | None:
        if not trigger:
            return "invalid_trigger_id"
        if trigger in self._used_triggers:
            return "exchanged_trigger_id"
        # devkit.fake_slack.requests issues "<epoch seconds>.<n>.fake": issued during that second, so it has expired
        # only once TRIGGER_TTL_S have passed since the second's end. Any other form ("trigger-<hex>") is fresh.
        head = trigger.split(".")[0]
        if head.isdigit() and self.wall_clock() - (int(head) + 1) > TRIGGER_TTL_S:
            return "expired_trigger_id"
        return None

    def _answer(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        """The view as Slack answers it: with its id (kept across updates) and a new hash."""
        self._seq += 1
        return {**view, "id": view_id or f"V{self._prefix}{self._seq:04d}", "team_id": "T1", "app_id": "A1",
                "bot_id": "BBOT",
                "state": {"values": {}}, "hash": f"{int(self.wall_clock())}.{self._seq:08x}"}
