"""A loopback stand-in for the Slack Web API (what Slack *sends* the app is in bot.slack_requests).

``FakeSlack`` serves ``/api/<method>`` (point ``AsyncWebClient(base_url=fake.base_url)`` at it), file upload URLs
and ``response_url``s. It records every call and answers like Slack. Used by the tests and by ``make dev``.

Wire formats, as slack_sdk's AsyncWebClient sends them: chat.postMessage/update/postEphemeral are JSON bodies;
most other methods (auth.test, files.*) are POSTs whose arguments are *query parameters*; conversations.* and
users.info are GETs; booleans arrive as "1"/"0"; files.completeUploadExternal's ``files`` is a JSON string; the
upload URL gets the raw bytes (application/octet-stream) and must answer 200. apps.connections.open (Socket
Mode) hands out ``socket_url``, and is the one method that takes the app-level token.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)
JSON_FIELDS = ("blocks", "metadata", "attachments", "files")
Handler = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class ApiCall:
    method: str
    params: dict[str, Any]
    token: str
    at: float


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
                 app_token: str = "xapp-test") -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_url = ""  # what apps.connections.open hands out (a Socket Mode stand-in's ws:// URL)
        self.on_call = on_call
        self.calls: list[ApiCall] = []
        self.failed_calls: list[ApiCall] = []
        self.responses: list[dict[str, Any]] = []  # bodies posted to response URLs, plus "key"
        self.files: list[dict[str, Any]] = []  # completed uploads
        self.users: dict[str, str] = {"U1": "alice", "UBOT": "fanout"}  # users.info names; others get id.lower()
        self._messages: list[PostedMessage] = []
        self._uploads: dict[str, dict[str, Any]] = {}  # file_id -> {"filename", "length", "content"}
        # method -> [(status, retry_after, error, only for messages of this metadata event_type)]
        self._failures: dict[str, list[tuple[int, int, str, Callable[[dict[str, Any]], bool]]]] = {}
        self._seq = 0
        self._file_seq = 0  # file shares get their own ts sequence, leaving messages' unchanged
        self._runner: web.AppRunner | None = None
        self._root = ""
        self._handlers: dict[str, Handler] = {
            "auth.test": self._auth_test, "chat.postMessage": self._post_message, "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral, "conversations.replies": self._replies,
            "conversations.history": self._history, "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload, "users.info": self._users_info,
            "apps.connections.open": self._connections_open,
        }

    # -- server lifecycle -------------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
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

    # -- inspection -------------------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def messages(self, channel: str | None = None) -> list[PostedMessage]:
        return [m for m in self._messages if channel is None or m.channel == channel]

    def thread(self, channel: str, ts: str) -> list[PostedMessage]:
        return [m for m in self._messages if m.channel == channel and m.thread_ts == ts]

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int = 1, times: int = 1, error: str = "ratelimited",
        event_type: str | None = None, match: Callable[[dict[str, Any]], bool] | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` — only those posting a message whose metadata has
        ``event_type``, and only those whose parameters ``match``, if given."""
        def applies(params: dict[str, Any]) -> bool:
            metadata = params.get("metadata")
            if event_type is not None and not (isinstance(metadata, dict) and metadata.get("event_type") == event_type):
                return False
            return match is None or match(params)

        self._failures.setdefault(method, []).extend([(status, retry_after, error, applies)] * times)

    def reset(self) -> None:
        """Forget everything recorded. Timestamps keep increasing, so they stay unique across resets."""
        for store in (self.calls, self.failed_calls, self.responses, self.files, self._messages):
            store.clear()
        self._uploads.clear()
        self._failures.clear()

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
        lines += [f"files: {[(f['filename'], f['channel_id'], f['thread_ts']) for f in self.files]}"]
        return "\n".join(lines)

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
        call = ApiCall(method, params, token, time.monotonic())
        if failure := self._take_failure(method, params):
            status, retry_after, error = failure
            self.failed_calls.append(call)
            if status == 429:
                headers = {"Retry-After": str(retry_after)}
                return web.json_response({"ok": False, "error": error}, status=429, headers=headers)
            reason = error if error != "ratelimited" else "server_error"
            return web.Response(status=status, text=f"{status} {reason}")  # text/plain, like a proxy's error page
        # apps.connections.open (Socket Mode) is the one method called with the app-level token.
        if token != (self.app_token if method == "apps.connections.open" else self.bot_token):
            return web.json_response({"ok": False, "error": "invalid_auth"})
        self.calls.append(call)
        handler = self._handlers.get(method)
        result = handler(params) if handler else {"ok": False, "error": "unknown_method"}
        if self.on_call is not None:
            try:
                self.on_call(call)
            except Exception:
                log.exception("FakeSlack on_call hook failed")
        return web.json_response(result)

    def _take_failure(self, method: str, params: dict[str, Any]) -> tuple[int, int, str] | None:
        pending = self._failures.get(method, [])
        for i, (status, retry_after, error, applies) in enumerate(pending):
            if applies(params):
                del pending[i]
                return status, retry_after, error
        return None

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
        self.responses.append({"key": request.match_info["key"], **body})
        if self.on_call is not None:  # the console prints ephemeral answers too
            self.on_call(ApiCall("response_url", body, "", time.monotonic()))
        return web.json_response({"ok": True})

    # -- API methods ------------------------------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._seq += 100
        return f"{1_700_000_000 + self._seq // 1_000_000}.{self._seq % 1_000_000:06d}"

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
        if not p.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not p.get("text") and not p.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread_ts = str(p["thread_ts"]) if p.get("thread_ts") else None
        m = PostedMessage(str(p["channel"]), self._next_ts(), str(p.get("text") or ""), list(p.get("blocks") or []),
                          thread_ts, p.get("metadata"))
        self._messages.append(m)
        return {"ok": True, "channel": m.channel, "ts": m.ts, "message": self._render(m)}

    def _update(self, p: dict[str, Any]) -> dict[str, Any]:
        m = self._find(str(p.get("channel", "")), str(p.get("ts", "")))
        if m is None:
            return {"ok": False, "error": "message_not_found"}
        # Like Slack: an omitted field keeps its old value; blocks=[] clears the blocks.
        m.text = str(p["text"]) if p.get("text") is not None else m.text
        m.blocks = list(p["blocks"]) if p.get("blocks") is not None else m.blocks
        m.metadata = p["metadata"] if p.get("metadata") is not None else m.metadata
        m.updates += 1
        return {"ok": True, "channel": m.channel, "ts": m.ts, "text": m.text, "message": self._render(m)}

    def _post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("channel") or not p.get("user"):
            return {"ok": False, "error": "user_not_found" if p.get("channel") else "channel_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _replies(self, p: dict[str, Any]) -> dict[str, Any]:
        parent = self._find(str(p.get("channel", "")), str(p.get("ts", "")))
        if parent is None:
            return {"ok": False, "error": "thread_not_found"}
        meta = _truthy(p.get("include_all_metadata"))
        thread = [parent, *self.thread(parent.channel, parent.ts)]
        # Files shared into the thread show up as messages carrying ``files`` (not in .messages()).
        shared = [{"type": "message", "user": "UBOT", "ts": f["ts"], "thread_ts": parent.ts, "upload": True,
                   "files": [{"id": f["id"], "name": f["filename"], "title": f["title"]}]}
                  for f in self.files if f["channel_id"] == parent.channel and f["thread_ts"] == parent.ts]
        messages = [self._render(m, meta) for m in thread] + shared
        return {"ok": True, "has_more": False, "messages": messages}

    def _history(self, p: dict[str, Any]) -> dict[str, Any]:
        meta, limit = _truthy(p.get("include_all_metadata")), int(p.get("limit") or 100)
        top = [m for m in reversed(self._messages) if m.channel == p.get("channel") and m.thread_ts is None]
        rendered = [self._render(m, meta) for m in top[:limit]]
        return {"ok": True, "has_more": len(top) > limit, "messages": rendered}

    def _get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self._uploads) + 1:08d}"
        self._uploads[file_id] = {"filename": p["filename"], "length": int(p["length"]), "content": None}
        return {"ok": True, "upload_url": f"{self._root}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        entries = p.get("files")
        if not isinstance(entries, list) or not entries:
            return {"ok": False, "error": "invalid_arguments"}
        if any(not isinstance(e, dict) or self._uploads.get(str(e.get("id"))) is None for e in entries):
            return {"ok": False, "error": "file_not_found"}
        channel = p.get("channel_id") or (str(p.get("channels") or "").split(",")[0] or None)
        done = []
        for e in entries:
            upload = self._uploads[str(e["id"])]
            title = e.get("title") or upload["filename"]
            self._file_seq += 1
            self.files.append({"id": e["id"], "ts": f"1800000000.{self._file_seq:06d}", "title": title,
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


async def _read_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.post()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes")
