"""A loopback stand-in for the Slack Web API (what Slack *sends* the app is in devkit.fake_slack.requests).

``FakeSlack`` serves ``/api/<method>`` (point ``AsyncWebClient(base_url=fake.base_url)`` at it), file upload URLs
and ``response_url``s. It records every call and answers like Slack. Used by the tests and by ``make dev``.

Wire formats, as slack_sdk's AsyncWebClient sends them: chat.postMessage/update/postEphemeral and views.* are JSON
bodies; most other methods (auth.test, files.*, functions.*, conversations.open) are POSTs whose arguments are
*query parameters*; conversations.history/replies and users.info are GETs; booleans arrive as "1"/"0";
files.completeUploadExternal's ``files`` and functions.completeSuccess's ``outputs`` are JSON strings; the upload URL
gets the raw bytes (application/octet-stream) and must answer 200. apps.connections.open (Socket Mode) hands out
``socket_url``.

Like Slack, per workspace:
- rate limits (``SlackLimits``, devkit.fake_slack.limits; the real ones by default): over a limit the answer is
  HTTP 429, ``Retry-After: <whole seconds until a call would be allowed>``, ``{"ok": false, "error":
  "ratelimited"}``. A 429 is not an executed call: it goes to ``failed_calls``, never ``calls``; ``attempts``
  holds every request.
- ``ok: false`` answers (HTTP 200) set up by ``archive``, ``kick``, ``delete_channel``, ``delete_message``,
  ``without_the_app`` and ``revoke_token``; a DM the app did not open (conversations.open, or a post to a user
  id) is a conversation it is not in: ``channel_not_found``.
- tokens: the bot token works for every method but apps.connections.open, which takes only the app-level token. A
  workflow token (``xwfp-…``, from ``issue_workflow_token(execution_id)``) works like the bot token, except that
  functions.completeSuccess/completeError accept it only for its own execution (others answer ``access_denied``),
  and it stops working when its execution completes or ``expire_workflow_tokens()`` (``token_expired``).
  Any other token answers ``invalid_auth``; after ``revoke_token()`` every known token answers ``token_revoked``.
- direct messages: conversations.open(users="U1") opens channel "DU1"; chat.postMessage(channel="U1") posts there.
- views (modals, App Home tabs) validated as Slack does; Workflow Builder functions completed at most once.

With ``state_path``, messages, file shares (not their bytes) and the ts sequence survive a restart (``make dev``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aiohttp import web

from devkit.fake_slack import blockkit
from devkit.fake_slack.limits import RateLimiter, SlackLimits, Views

log = logging.getLogger(__name__)
JSON_FIELDS = ("blocks", "metadata", "attachments", "files", "view", "outputs")
Handler = Callable[[dict[str, Any]], dict[str, Any]]
WRITES = ("chat.postMessage", "chat.update", "chat.postEphemeral")
READS = ("conversations.history", "conversations.replies")
VIEWS = ("views.open", "views.push", "views.update", "views.publish")
UPLOAD = "files.completeUploadExternal"
PERSISTED = (*WRITES, UPLOAD)  # methods whose success changes what ``state_path`` keeps


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    token: str
    at: float  # FakeSlack's clock
    status: int = 200  # HTTP status of the answer
    error: str | None = None  # the answer's error, if it was not ok


@dataclass
class PostedMessage:
    channel: str
    ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None
    metadata: dict[str, Any] | None
    updates: int = 0


class FakeSlack:
    def __init__(self, *, bot_token: str = "xoxb-test", on_call: Callable[[ApiCall], None] | None = None,
                 app_token: str = "xapp-test", limits: SlackLimits | None = None,
                 clock: Callable[[], float] = time.monotonic, wall_clock: Callable[[], float] = time.time,
                 state_path: Path | None = None) -> None:
        """``limits``: Slack's real ones unless given (``SlackLimits.off()``, ``SlackLimits.scaled(20)``).
        ``clock`` times calls and rate limits; ``wall_clock`` (epoch seconds) dates trigger ids and view hashes."""
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_url = ""  # what apps.connections.open hands out (a Socket Mode stand-in's ws:// URL)
        self.on_call = on_call
        self.clock = clock
        self.wall_clock = wall_clock
        self.state_path = state_path
        self._limiter = RateLimiter(limits if limits is not None else SlackLimits(), clock)
        self.calls: list[ApiCall] = []  # executed calls
        self.failed_calls: list[ApiCall] = []  # refused with an HTTP error (429, 5xx): not executed
        self.attempts: list[ApiCall] = []  # every request to /api/, executed or not
        self.responses: list[dict[str, Any]] = []  # bodies posted to response URLs, plus "key"
        self.refused_responses: list[dict[str, Any]] = []  # ... that Slack would refuse, plus their "problems"
        self.files: list[dict[str, Any]] = []  # completed uploads
        self.users: dict[str, str] = {"U1": "alice", "UBOT": "fanout"}  # users.info names; others get id.lower()
        self._views = Views(wall_clock)
        self.function_results: dict[str, dict[str, Any]] = {}  # execution id -> {"ok", "outputs" | "error"}
        self._messages: list[PostedMessage] = []
        self._uploads: dict[str, dict[str, Any]] = {}  # file_id -> {"filename", "length", "content"}
        # method -> [(status, retry_after, error, only for messages of this metadata event_type)]
        self._failures: dict[str, list[tuple[int, int, str, Callable[[dict[str, Any]], bool], bool]]] = {}
        self._stalls: dict[str, list[tuple[float, Callable[[dict[str, Any]], bool]]]] = {}  # method -> (s, applies)
        self._seq = 0
        self._upload_seq = 0
        self._clear_workspace()
        self._runner: web.AppRunner | None = None
        self._root = ""
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral, "conversations.replies": self._replies,
            "conversations.history": self._history, "conversations.open": self._open_conversation,
            "files.getUploadURLExternal": self._get_upload_url, "files.completeUploadExternal": self._complete_upload,
            "users.info": self._users_info, "apps.connections.open": self._connections_open,
            "views.open": self._views.open, "views.push": self._views.push, "views.update": self._views.update,
            "views.publish": self._views.publish,
            "functions.completeSuccess": lambda p: self._complete_function(p, True),
            "functions.completeError": lambda p: self._complete_function(p, False),
        }

    def _clear_workspace(self) -> None:
        self._archived: set[str] = set()
        self._kicked: set[str] = set()
        self._deleted: set[str] = set()
        self._revoked = False
        self._workflow_tokens: dict[str, str] = {}  # token -> function execution id
        self._expired_tokens: set[str] = set()
        self._open_dms: set[str] = set()  # the app's DMs with users (and group DMs it opened)
        self._without_the_app: set[str] = set()  # private conversations the app is not in

    # -- server lifecycle -------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._load()
        app = web.Application(client_max_size=1 << 30)  # uploads: a 1M-value run's CSV is ~40 MB
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{key}", self._respond)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0][1]
        self._root = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{bound}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self._root:
            raise RuntimeError("FakeSlack.start() has not run")
        return f"{self._root}/api/"

    def response_url(self, key: str = "r") -> str:
        return f"{self.base_url[:-len('api/')]}respond/{key}"

    @property
    def limits(self) -> SlackLimits:
        return self._limiter.limits

    @limits.setter
    def limits(self, limits: SlackLimits) -> None:
        self._limiter.limits = limits

    # -- inspection -------------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[PostedMessage]:
        return [m for m in self._messages if channel is None or m.channel == channel]

    def dms(self, user_id: str) -> list[PostedMessage]:
        """Messages in the bot's direct-message channel with ``user_id``."""
        return self.messages(_dm_channel(user_id))

    def thread(self, channel: str, ts: str) -> list[PostedMessage]:
        return [m for m in self._messages if m.channel == channel and m.thread_ts == ts]

    def max_in_window(self, method: str, window_s: float = 60.0) -> int:
        """The most attempts of ``method`` (executed or refused) in any rolling window of ``window_s``."""
        times = sorted(c.at for c in self.attempts if c.method == method)
        best = first = 0
        for last, at in enumerate(times):
            while at - times[first] >= window_s:
                first += 1
            best = max(best, last - first + 1)
        return best

    def rate_limited(self, method: str) -> int:
        """How many calls of ``method`` were answered 429 (by the limits or by ``fail_next``)."""
        return sum(1 for c in self.attempts if c.method == method and c.status == 429)

    @property
    def views(self) -> list[dict[str, Any]]:
        """Opened and pushed modals: dicts of id ("V0001"), view, trigger_id, method, hash, external_id, updates,
        root_view_id and previous_view_id (None for an opened view)."""
        return self._views.opened

    @property
    def home_tabs(self) -> dict[str, dict[str, Any]]:
        """User id -> the view last published to their App Home tab."""
        return self._views.home_tabs

    def home_publishes(self, user_id: str) -> int:
        return self._views.publishes(user_id)

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1, error: str = "ratelimited",
        event_type: str | None = None, match: Callable[[dict[str, Any]], bool] | None = None,
        after_acting: bool = False,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` — only those posting a message whose metadata has
        ``event_type``, and only those whose parameters ``match``, if given. ``after_acting``: Slack does what
        was asked, but the answer is lost (the failure goes back instead): the caller cannot tell."""
        def applies(params: dict[str, Any]) -> bool:
            metadata = params.get("metadata")
            if event_type is not None and not (isinstance(metadata, dict) and metadata.get("event_type") == event_type):
                return False
            return match is None or match(params)

        self._failures.setdefault(method, []).extend([(status, retry_after, error, applies, after_acting)] * times)

    def stall_next(self, method: str, seconds: float, *, event_type: str | None = None) -> None:
        """The next call of ``method`` (posting a message with ``event_type`` metadata, if given) is done at
        once, but its answer comes only ``seconds`` later: a caller killed meanwhile never learns of it."""
        def applies(params: dict[str, Any]) -> bool:
            metadata = params.get("metadata")
            return event_type is None or (isinstance(metadata, dict) and metadata.get("event_type") == event_type)

        self._stalls.setdefault(method, []).append((seconds, applies))

    def reset(self) -> None:
        """Forget everything recorded, the rate-limit counts and the workspace's state (archived channels, revoked
        token, views...); with ``state_path``, the file is emptied too. Timestamps keep increasing, so they stay
        unique across resets."""
        for store in (self.calls, self.failed_calls, self.attempts, self.responses, self.refused_responses, self.files,
                      self._messages):
            store.clear()
        for mapping in (self._uploads, self._failures, self._stalls, self.function_results):
            mapping.clear()
        self._limiter.reset()
        self._views.clear()
        self._clear_workspace()
        self._save()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"FakeSlack.wait_for timed out after {timeout}s\n{self.dump()}")
            await asyncio.sleep(0.02)

    def dump(self, last: int = 20) -> str:
        lines = [f"calls ({len(self.calls)}, last {last}):"]
        lines += [f"  {c.method} {json.dumps(c.params, default=str)[:300]}" for c in self.calls[-last:]]
        lines += [f"failed_calls: {[c.method for c in self.failed_calls]}", f"messages ({len(self._messages)}):"]
        lines += [f"  {m.channel} {m.ts} thread={m.thread_ts} {m.text[:120]!r}" for m in self._messages[-last:]]
        lines += [f"responses: {json.dumps(self.responses[-last:], default=str)[:1500]}"]
        if self.refused_responses:
            lines += [f"refused responses: {json.dumps(self.refused_responses[-last:], default=str)[:1500]}"]
        lines += [f"files: {[(f['filename'], f['channel_id'], f['thread_ts']) for f in self.files]}"]
        if self.views or self.home_tabs:
            lines += [f"views: {[v['id'] for v in self.views]} home tabs: {sorted(self.home_tabs)}"]
        return "\n".join(lines)

    # -- the workspace, as tests set it up --------------------------------------------------------------------

    def archive(self, channel: str) -> None:
        """Posting or updating in ``channel`` answers ``is_archived``."""
        self._archived.add(channel)

    def kick(self, channel: str) -> None:
        """The bot is no longer a member of ``channel``: posting, updating and reading answer ``not_in_channel``."""
        self._kicked.add(channel)

    def delete_channel(self, channel: str) -> None:
        """Every call about ``channel`` answers ``channel_not_found`` (uploads: ``invalid_channel``)."""
        self._deleted.add(channel)

    def delete_message(self, channel: str, ts: str) -> None:
        """The message is gone: chat.update of it answers ``message_not_found``, history no longer shows it."""
        message = self._find(channel, ts)
        if message is None:
            raise KeyError(f"no message {ts} in {channel}")
        self._messages.remove(message)
        self._save()

    def without_the_app(self, channel: str) -> None:
        """A private conversation the app is not in (a private channel, a group DM of other people): Slack answers
        ``channel_not_found``, as for one that does not exist. (A DM the app did not open is one already.)"""
        self._without_the_app.add(channel)

    def revoke_token(self) -> None:
        """Every method answers ``token_revoked`` (the app was uninstalled) until ``restore_token()``."""
        self._revoked = True

    def restore_token(self) -> None:
        self._revoked = False

    def issue_workflow_token(self, execution_id: str) -> str:
        """A workflow token (``xwfp-…``), as Slack hands one out with a function_executed event."""
        token = f"xwfp-T1-{len(self._workflow_tokens) + 1}-{execution_id}"
        self._workflow_tokens[token] = execution_id
        return token

    def expire_workflow_tokens(self) -> None:
        """Every workflow token handed out so far stops working, as Slack's do once they are old."""
        self._expired_tokens |= set(self._workflow_tokens)

    # -- persistence (``state_path``) -------------------------------------------------------------------------

    def _save(self) -> None:
        if self.state_path is None:
            return
        state = {"version": 1, "seq": self._seq, "upload_seq": self._upload_seq,
                 "messages": [asdict(m) for m in self._messages],
                 "files": [{k: v for k, v in f.items() if k != "content"} for f in self.files]}
        tmp = self.state_path.with_name(f".{self.state_path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(state, default=str))
        os.replace(tmp, self.state_path)

    def _load(self) -> None:
        if self.state_path is None or not self.state_path.exists():
            return
        state = json.loads(self.state_path.read_text())
        self._seq = max(self._seq, int(state.get("seq", 0)))
        self._upload_seq = max(self._upload_seq, int(state.get("upload_seq", 0)))
        self._messages[:] = [PostedMessage(**m) for m in state.get("messages", [])]
        self.files[:] = [{**f, "content": b""} for f in state.get("files", [])]

    # -- HTTP plumbing ----------------------------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = {**request.query, **await _read_body(request)}
        for name in JSON_FIELDS:
            if isinstance(params.get(name), str):
                try:
                    params[name] = json.loads(params[name])
                except ValueError:
                    pass
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else str(params.pop("token", ""))
        call = ApiCall(method, params, token, self.clock())
        self.attempts.append(call)
        failure = self._take_failure(method, params)
        if failure and not failure[3]:
            call.status, retry_after, call.error, _ = failure
            self.failed_calls.append(call)
            return _failure(call.status, retry_after, call.error)
        if error := self._auth_error(method, token, params):
            call.error = error
            return web.json_response({"ok": False, "error": error})
        if (wait := self._limiter.admit(method, self._channel_of(method, params))) is not None:
            call.status, call.error = 429, "ratelimited"
            self.failed_calls.append(call)
            return _ratelimited(wait)
        self.calls.append(call)
        result = (self._refusal(method, params) or _invalid(method, params)
                  or self._handlers.get(method, _unknown_method)(params))
        if result.get("ok") and (warnings := blockkit.message_warnings(params) if method in WRITES else []):
            result = {**result, "warning": ",".join(warnings), "response_metadata": {"warnings": warnings}}
        if not result.get("ok"):
            call.error = str(result.get("error"))
        elif method in PERSISTED:
            self._save()
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                log.exception("FakeSlack on_call hook failed")
        if failure:  # done, but the answer is lost on its way back
            self.failed_calls.append(call)
            return _failure(failure[0], failure[1], failure[2])
        stalls = self._stalls.get(method, [])
        if stall := next(((i, s) for i, (s, applies) in enumerate(stalls) if applies(params)), None):
            del stalls[stall[0]]
            await asyncio.sleep(stall[1])
        return web.json_response(result)

    def _take_failure(self, method: str, params: dict[str, Any]) -> tuple[int, int, str, bool] | None:
        pending = self._failures.get(method, [])
        for i, (status, retry_after, error, applies, after_acting) in enumerate(pending):
            if applies(params):
                del pending[i]
                return status, retry_after, error, after_acting
        return None

    def _auth_error(self, method: str, token: str, params: dict[str, Any]) -> str | None:
        if method == "apps.connections.open":  # Socket Mode: the one method that takes the app-level token
            known = token == self.app_token
        else:
            known = token == self.bot_token or token in self._workflow_tokens
        if not known:
            return "invalid_auth"
        if self._revoked:
            return "token_revoked"
        execution = self._workflow_tokens.get(token)
        if execution is not None and (token in self._expired_tokens or execution in self.function_results):
            return "token_expired"
        if execution is not None and method.startswith("functions.") and \
                params.get("function_execution_id") != execution:
            return "access_denied"
        return None

    def _channel_of(self, method: str, p: dict[str, Any]) -> str | None:
        if method == UPLOAD:
            return str(p.get("channel_id") or str(p.get("channels") or "").split(",")[0]) or None
        channel = str(p.get("channel") or "") or None
        return _dm_channel(channel) if channel and method == "chat.postMessage" else channel

    def _refusal(self, method: str, p: dict[str, Any]) -> dict[str, Any] | None:
        """The ``ok: false`` answer that ``archive``, ``kick`` or ``delete_channel`` set up for this call, if any."""
        channel = self._channel_of(method, p)
        upload = method == UPLOAD
        if not channel or not (upload or method in WRITES or method in READS):
            return None
        if method == "chat.postMessage" and str(p.get("channel") or "").startswith(("U", "W")):
            self._open_dms.add(channel)  # posting to a user id opens the app's DM with them
        error = None
        outside = channel in self._without_the_app or (channel.startswith("D") and channel not in self._open_dms)
        if channel in self._deleted or outside:  # Slack says a conversation the app is not in does not exist
            error = "invalid_channel" if upload else "channel_not_found"
        elif channel in self._kicked:
            error = "posting_to_channel_denied" if upload else "not_in_channel"
        elif channel in self._archived and (upload or method in WRITES):
            error = "posting_to_channel_denied" if upload else "is_archived"
        return {"ok": False, "error": error} if error else None

    async def _upload(self, request: web.Request) -> web.Response:
        upload = self._uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="unknown upload")
        if request.content_type == "multipart/form-data":
            part = (await request.post()).get("file")
            upload["content"] = part.file.read() if isinstance(part, web.FileField) else str(part or "").encode()
        else:
            upload["content"] = await request.read()
        return web.Response(text=f"OK - {len(upload['content'])}")  # text/plain, as files.slack.com answers

    async def _respond(self, request: web.Request) -> web.Response:
        body = await _read_body(request)
        if problems := blockkit.message_problems(body):  # as Slack's webhooks: HTTP 400, and nothing shown
            self.refused_responses.append({"key": request.match_info["key"], **body, "problems": problems})
            return web.Response(status=400, text="invalid_blocks")
        self.responses.append({"key": request.match_info["key"], **body})
        if self.on_call is not None:  # the console prints ephemeral answers too
            self.on_call(ApiCall("response_url", body, "", self.clock()))
        return web.json_response({"ok": True})

    # -- API methods: messages --------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        """Like Slack's: the epoch time in microseconds, unique (and increasing) within the workspace."""
        self._seq = max(int(self.wall_clock() * 1_000_000), self._seq + 1)
        return f"{self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

    def _find(self, channel: str, ts: str) -> PostedMessage | None:
        return next((m for m in self._messages if m.channel == channel and m.ts == ts), None)

    def _render(self, m: PostedMessage, with_metadata: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "message", "user": "UBOT", "bot_id": "BBOT", "ts": m.ts, "text": m.text,
                               "blocks": m.blocks}
        replies = self.thread(m.channel, m.ts) if m.thread_ts is None else []
        if m.thread_ts or replies:
            out["thread_ts"] = m.thread_ts or m.ts
        if replies:
            out["reply_count"] = len(replies)
        if with_metadata and m.metadata is not None:
            out["metadata"] = m.metadata
        return out

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": "https://fake.slack.com/", "team": "Fake", "user": "fanout", "team_id": "T1",
                "user_id": "UBOT", "bot_id": "BBOT", "is_enterprise_install": False}

    def _post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        text = blockkit.truncated_text(str(p.get("text") or ""))
        m = PostedMessage(_dm_channel(str(p["channel"])), self._next_ts(), text, list(p.get("blocks") or []), thread_ts,
                          p.get("metadata"))
        self._messages.append(m)
        return {"ok": True, "channel": m.channel, "ts": m.ts, "message": self._render(m)}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._find(str(p.get("channel", "")), str(p.get("ts", "")))
        if m is None:
            return {"ok": False, "error": "message_not_found"}
        # Like Slack: an omitted field keeps its old value; blocks=[] clears the blocks.
        m.text = blockkit.truncated_text(str(p["text"])) if p.get("text") is not None else m.text
        m.blocks = list(p["blocks"]) if p.get("blocks") is not None else m.blocks
        m.metadata = p["metadata"] if p.get("metadata") is not None else m.metadata
        m.updates += 1
        return {"ok": True, "channel": m.channel, "ts": m.ts, "text": m.text, "message": self._render(m)}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _replies(self, p: dict[str, Any]) -> dict[str, Any]:
        parent = self._find(str(p.get("channel", "")), str(p.get("ts", "")))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        meta, limit = _truthy(p.get("include_all_metadata")), self.limits.history_cap(_limit(p, 1000))
        thread = [parent, *self.thread(parent.channel, parent.ts)]
        # Files shared into the thread show up as messages carrying ``files`` (not in .messages()).
        shared = [{"type": "message", "user": "UBOT", "ts": f["ts"], "thread_ts": parent.ts, "upload": True,
                   "files": [{"id": f["id"], "name": f["filename"], "title": f["title"]}]}
                  for f in self.files if f["channel_id"] == parent.channel and f["thread_ts"] == parent.ts]
        messages = [self._render(m, meta) for m in thread] + shared
        return {"ok": True, "has_more": len(messages) > limit, "messages": messages[:limit]}

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        meta, limit = _truthy(p.get("include_all_metadata")), self.limits.history_cap(_limit(p, 100))
        try:
            oldest = Decimal(str(p["oldest"])) if p.get("oldest") not in (None, "") else None
        except InvalidOperation:
            return {"ok": False, "error": "invalid_ts_oldest"}
        top = [m for m in reversed(self._messages) if m.channel == p.get("channel") and m.thread_ts is None
               and (oldest is None or Decimal(m.ts) > oldest)]
        rendered = [self._render(m, meta) for m in top[:limit]]
        return {"ok": True, "has_more": len(top) > limit, "messages": rendered}

    def _open_conversation(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel"):  # resume a DM opened before
            channel = str(p["channel"])
            if channel not in self._open_dms:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel}}
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            return {"ok": False, "error": "users_list_not_supplied"}
        if any(not u.startswith(("U", "W")) for u in users):
            return {"ok": False, "error": "user_not_found"}
        if len(users) > 8:
            return {"ok": False, "error": "too_many_users"}
        channel = _dm_channel(users[0]) if len(users) == 1 else "G" + "".join(users)  # a multi-person DM
        info: dict[str, Any] = {"id": channel, "is_im": len(users) == 1}
        if len(users) == 1:
            info["user"] = users[0]
        already = channel in self._open_dms
        self._open_dms.add(channel)
        return {"ok": True, **({"no_op": True, "already_open": True} if already else {}), "channel": info}

    # -- API methods: files, users, Socket Mode ---------------------------------------------------------------

    def _get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        self._upload_seq += 1
        file_id = f"F{self._upload_seq:08d}"
        self._uploads[file_id] = {"filename": p["filename"], "length": int(p["length"]), "content": None}
        return {"ok": True, "upload_url": f"{self._root}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            return {"ok": False, "error": "invalid_arguments"}
        if any(not isinstance(e, dict) or self._uploads.get(str(e.get("id"))) is None for e in entries):
            return {"ok": False, "error": "file_not_found"}
        channel = self._channel_of(UPLOAD, p)
        done = []
        for e in entries:
            upload = self._uploads[str(e["id"])]
            title = e.get("title") or upload["filename"]
            self.files.append({"id": e["id"], "ts": self._next_ts(), "title": title,
                               "filename": upload["filename"], "channel_id": channel,
                               "thread_ts": p.get("thread_ts"), "content": upload["content"] or b"",
                               "initial_comment": p.get("initial_comment")})
            done.append({"id": e["id"], "title": title})
        return {"ok": True, "files": done}

    def _connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url} if self.socket_url else {"ok": False, "error": "invalid_auth"}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        uid = str(p.get("user") or "")
        if not uid:
            return {"ok": False, "error": "user_not_found"}
        name = self.users.get(uid, uid.lower())
        return {"ok": True, "user": {"id": uid, "team_id": "T1", "name": name, "real_name": name.title(),
                                     "is_bot": uid == "UBOT", "profile": {"display_name": name, "real_name": name}}}

    # -- API methods: Workflow Builder functions --------------------------------------------------------------

    def _complete_function(self, p: dict[str, Any], success: bool) -> dict[str, Any]:
        execution = str(p.get("function_execution_id") or "")
        outcome = p.get("outputs") if success else p.get("error")
        if not execution or (not isinstance(outcome, dict) if success else not outcome):
            return {"ok": False, "error": "invalid_arguments"}
        if execution in self.function_results:  # Slack completes an execution once
            return {"ok": False, "error": "function_execution_not_found"}
        self.function_results[execution] = {"ok": success, "outputs" if success else "error": outcome}
        return {"ok": True}


def _invalid(method: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """What Slack answers a call it refuses for its arguments or its payload: a missing argument gets the
    method's own error, a wrong type invalid_arguments (blockkit.argument_problem); blocks it refuses
    invalid_blocks (chat.*), a view it refuses invalid_arguments or view_too_large (views.*)."""
    if (answer := blockkit.argument_problem(method, params)) is not None:
        return answer
    if method in WRITES and (problems := blockkit.message_problems(params)):
        return blockkit.chat_refusal(problems)
    if method in VIEWS and params.get("view") is not None:
        if blockkit.view_size_too_large(params["view"]):
            return {"ok": False, "error": "view_too_large"}
        if problems := blockkit.view_problems(params["view"], "home" if method == "views.publish" else "modal"):
            return blockkit.views_refusal(problems)
    return None


async def _read_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _unknown_method(p: dict[str, Any]) -> dict[str, Any]:
    return {"ok": False, "error": "unknown_method"}


def _failure(status: int, retry_after: int, error: str) -> web.Response:
    if status == 429:
        return _ratelimited(retry_after, error)
    reason = error if error != "ratelimited" else "server_error"
    return web.Response(status=status, text=f"{status} {reason}")  # text/plain, like a proxy's error page


def _ratelimited(retry_after: int, error: str = "ratelimited") -> web.Response:
    return web.json_response({"ok": False, "error": error}, status=429, headers={"Retry-After": str(retry_after)})


def _dm_channel(channel: str) -> str:
    """A user id stands for the bot's DM channel with that user (D + user id), as in chat.postMessage."""
    return f"D{channel}" if channel.startswith(("U", "W")) else channel


def _limit(p: dict[str, Any], default: int) -> int:
    value = str(p.get("limit") or "")
    return int(value) if value.isdigit() and int(value) > 0 else default


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")
