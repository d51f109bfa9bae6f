"""Slack calls made inside activities (bot.reporting.activities): Slack's answers become Temporal retries.

The activities' Slack client has no retry handlers and no sleeping 429 handler: Temporal retries.
- A 429 becomes ``ApplicationError(next_retry_delay=<Retry-After>)``: the task waits in Temporal,
  holding no worker slot, and comes back on the rate-limited queue.
- ``not_in_channel``, ``channel_not_found`` and ``is_archived`` end the run's reporting
  (non-retryable ``SlackChannelUnavailable``); ``message_not_found`` ends its edits (``SlackMessageGone``).
- ``invalid_auth``, ``token_revoked`` and friends concern the whole app: ``/healthz`` turns red and the
  task is retried every 30 s, so it is still queued when a valid token returns; no run ends.
- Any other ``ok: false`` answer will not change on a retry (``SlackRefused``, non-retryable).
- A timeout, a dropped connection or a 5xx is ambiguous: Slack may have acted. It is retried, and a
  retried post first looks for what it may already have posted (``maybe_done``).

Exactly once: before raising for an answer that proves nothing was posted, the activity heartbeats
``(NOT_DONE, attempt)``; Temporal hands the last heartbeat to the next attempt. An attempt that finds
its predecessor's marker knows nothing was posted; any other retry (the bot died mid-call, or the
call's outcome is unknown) reads Slack first — the only time the bot reads Slack at all.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from slack_sdk.errors import SlackApiError
from temporalio import activity
from temporalio.exceptions import ApplicationError

log = logging.getLogger("fanout.report")

NOT_DONE = "not-done"
CHANNEL_GONE = frozenset({"not_in_channel", "channel_not_found", "is_archived"})
APP_AUTH = frozenset({"invalid_auth", "token_revoked", "token_expired", "account_inactive", "not_authed",
                      "no_permission", "org_login_required", "team_access_not_granted"})
AUTH_RETRY = timedelta(seconds=30)


class SlackHealth:
    """Whether Slack accepts the bot's token, as the activities last saw it (for /healthz)."""

    def __init__(self) -> None:
        self.auth_error = ""

    def ok(self) -> None:
        if self.auth_error:
            log.info("Slack accepts the token again")
        self.auth_error = ""

    def refused(self, error: str) -> None:
        if not self.auth_error:
            log.error("Slack refuses the bot's token (%s): reporting waits until a valid token returns", error)
        self.auth_error = error


def maybe_done() -> bool:
    """Whether an earlier attempt of this activity may already have done its Slack call."""
    info = activity.info()
    if info.attempt <= 1:
        return False
    return list(info.heartbeat_details[:2]) != [NOT_DONE, info.attempt - 1]


def _not_done() -> None:
    activity.heartbeat(NOT_DONE, activity.info().attempt)


def retry_after(err: SlackApiError) -> float:
    raw = (err.response.headers or {}).get("Retry-After") or (err.response.headers or {}).get("retry-after")
    try:
        return max(float(raw), 1.0) if raw is not None else 1.0
    except (TypeError, ValueError):
        return 1.0


async def call(health: SlackHealth, what: str, api: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
    """``api(**kwargs)`` (a slack_sdk client method), its answer mapped to a Temporal outcome."""
    try:
        response = await api(**kwargs)
    except SlackApiError as err:
        raise as_temporal(health, what, err) from None
    health.ok()
    return response


def as_temporal(health: SlackHealth, what: str, err: SlackApiError) -> Exception:
    status = err.response.status_code
    error = str(err.response.get("error", "") if isinstance(err.response.data, dict) else "")
    if status == 429:
        _not_done()
        delay = retry_after(err)
        return ApplicationError(f"Slack rate-limited {what}; retry in {delay:.0f} s", type="SlackRateLimited",
                                next_retry_delay=timedelta(seconds=math.ceil(delay)))
    if status >= 500 or not error:  # Slack (or a proxy) failed: it may or may not have acted
        return ApplicationError(f"Slack answered HTTP {status} to {what}", type="SlackUnavailable")
    _not_done()  # ok: false: Slack did nothing
    if error in APP_AUTH:
        health.refused(error)
        return ApplicationError(f"Slack refused the token for {what}: {error}", type="SlackAuth",
                                next_retry_delay=AUTH_RETRY)
    health.ok()
    if error in CHANNEL_GONE:
        return ApplicationError(error, type="SlackChannelUnavailable", non_retryable=True)
    if error == "message_not_found":
        return ApplicationError(error, type="SlackMessageGone", non_retryable=True)
    return ApplicationError(f"Slack refused {what}: {error}", type="SlackRefused", non_retryable=True)


def find_message(messages: list[dict[str, Any]], event_type: str, workflow_id: str) -> str | None:
    """The ts of the message carrying ``event_type`` metadata for this run, if listed."""
    for message in messages:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == event_type and payload.get("workflow_id") == workflow_id:
            return str(message.get("ts"))
    return None


def file_names(messages: list[dict[str, Any]]) -> set[str]:
    return {str(f.get("name")) for m in messages for f in (m.get("files") or [])}
