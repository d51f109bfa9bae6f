"""FakeSlack must look like Slack to the real slack_sdk client and to a real Bolt app in HTTP mode."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from collections.abc import AsyncIterator, Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.metadata import Metadata
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from devkit.fake_slack.limits import RateLimiter, SlackLimits
from devkit.fake_slack.requests import ack_refusal, block_actions_body, post_signed, sign, slash_command_body
from devkit.fake_slack.web_api import ApiCall, FakeSlack


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    kwargs.setdefault("retry_handlers", [])  # no retry handler that sleeps: a 429 or an error is raised as it came
    return AsyncWebClient(token=kwargs.pop("token", "xoxb-test"), base_url=fake.base_url, **kwargs)


class Clock:
    """A clock the test moves by hand: FakeSlack(clock=...) times its rate limits with it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def refused(call: Awaitable[Any]) -> SlackApiError:
    with pytest.raises(SlackApiError) as err:
        await call
    return err.value


async def ratelimited(call: Awaitable[Any]) -> int:
    """The Retry-After of a call that must be answered 429, exactly as Slack does."""
    err = await refused(call)
    assert err.response.status_code == 429 and err.response.data == {"ok": False, "error": "ratelimited"}
    return int(err.response.headers["Retry-After"])


async def slack_error(call: Awaitable[Any]) -> str:
    """The error of a call that must be answered ``ok: false`` with HTTP 200, as Slack does."""
    err = await refused(call)
    assert err.response.status_code == 200 and err.response["ok"] is False
    return str(err.response["error"])


async def test_auth_test_and_users_info(fake: FakeSlack) -> None:
    client = client_for(fake)
    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == ("UBOT", "BBOT", "T1")
    user = await client.users_info(user="U1")
    assert user["user"]["name"] == "alice"
    assert [c.method for c in fake.calls] == ["auth.test", "users.info"]
    assert fake.calls[0].token == "xoxb-test"


async def test_post_update_and_replies(fake: FakeSlack) -> None:
    client = client_for(fake)
    blocks = [
        SectionBlock(text="*hello*"),
        ActionsBlock(elements=[ButtonElement(text="Retry", action_id="retry", value="run-1")]),
    ]
    meta = Metadata(event_type="fanout_run", event_payload={"run_id": "run-1"})
    parent = await client.chat_postMessage(channel="C1", text="hello", blocks=blocks, metadata=meta)
    assert parent["channel"] == "C1" and parent["message"]["text"] == "hello"
    reply = await client.chat_postMessage(channel="C1", text="in thread", thread_ts=parent["ts"])
    assert float(reply["ts"]) > float(parent["ts"])

    # The client sent blocks/metadata as JSON objects; the fake recorded them decoded.
    sent = fake.calls_to("chat.postMessage")[0].params
    assert sent["blocks"][1]["elements"][0]["action_id"] == "retry"
    assert sent["metadata"] == {"event_type": "fanout_run", "event_payload": {"run_id": "run-1"}}

    await client.chat_update(channel="C1", ts=parent["ts"], text="updated", blocks=[SectionBlock(text="done")])
    [top, threaded] = fake.messages("C1")
    assert (top.text, top.updates, top.blocks[0]["text"]["text"]) == ("updated", 1, "done")
    assert top.metadata == {"event_type": "fanout_run", "event_payload": {"run_id": "run-1"}}
    assert fake.thread("C1", parent["ts"]) == [threaded]
    await client.chat_update(channel="C1", ts=parent["ts"], text="text only")  # omitted blocks are kept
    assert (top.text, top.updates, len(top.blocks)) == ("text only", 2, 1)
    await client.chat_update(channel="C1", ts=parent["ts"], text="updated", blocks=[])  # [] clears them
    assert (top.blocks, top.updates) == ([], 3)

    with_meta = await client.conversations_replies(channel="C1", ts=parent["ts"], include_all_metadata=True)
    assert [m["text"] for m in with_meta["messages"]] == ["updated", "in thread"]
    assert with_meta["messages"][0]["metadata"]["event_payload"] == {"run_id": "run-1"}
    without = await client.conversations_replies(channel="C1", ts=parent["ts"])
    assert "metadata" not in without["messages"][0]

    history = await client.conversations_history(channel="C1", include_all_metadata=True)
    assert [m["ts"] for m in history["messages"]] == [parent["ts"]]  # top-level only

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel="C1", ts="1.000000", text="nope")
    assert err.value.response["error"] == "message_not_found"
    eph = await client.chat_postEphemeral(channel="C1", user="U1", text="psst")
    assert eph["message_ts"]


async def test_files_upload_v2_lands_in_thread(fake: FakeSlack) -> None:
    client = client_for(fake)
    parent = await client.chat_postMessage(channel="C1", text="results")
    done = await client.files_upload_v2(
        content=b"value,status\n1,ok\n", filename="x.csv", channel="C1", thread_ts=parent["ts"],
        initial_comment="all results",
    )
    assert done["files"][0]["id"] == fake.files[0]["id"]
    [f] = fake.files
    assert f["content"] == b"value,status\n1,ok\n"
    assert (f["filename"], f["channel_id"], f["thread_ts"], f["initial_comment"]) == (
        "x.csv", "C1", parent["ts"], "all results")
    assert fake.calls_to("files.getUploadURLExternal")[0].params["length"] == str(len(f["content"]))


async def test_rate_limit_is_retried_once(fake: FakeSlack) -> None:
    client = client_for(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    fake.fail_next("chat.postMessage", status=429, retry_after=0)
    started = time.monotonic()
    await client.chat_postMessage(channel="C1", text="after a 429")
    assert time.monotonic() - started < 5
    assert len(fake.messages()) == 1 and len(fake.calls_to("chat.postMessage")) == 1
    assert len(fake.failed_calls) == 1 and fake.failed_calls[0].params["text"] == "after a 429"


async def test_rate_limit_honours_retry_after(fake: FakeSlack) -> None:
    client = client_for(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    fake.fail_next("chat.postMessage", status=429, retry_after=1)
    await client.chat_postMessage(channel="C1", text="x")
    [failed], [ok] = fake.failed_calls, fake.calls_to("chat.postMessage")
    assert ok.at - failed.at >= 1.0  # Retry-After seconds (plus jitter) before the retry
    assert len(fake.messages()) == 1


async def test_rate_limit_without_handler_raises(fake: FakeSlack) -> None:
    fake.fail_next("chat.postMessage", status=429, times=2)
    with pytest.raises(SlackApiError) as err:
        await client_for(fake).chat_postMessage(channel="C1", text="x")
    assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
    assert err.value.response.headers["Retry-After"] == "1"


async def test_server_error_is_retried(fake: FakeSlack) -> None:
    client = client_for(fake, retry_handlers=[AsyncServerErrorRetryHandler(max_retry_count=2)])
    fake.fail_next("chat.postMessage", status=500)
    await client.chat_postMessage(channel="C1", text="after a 500")
    assert len(fake.messages()) == 1 and len(fake.failed_calls) == 1


async def test_wrong_token_and_unknown_method(fake: FakeSlack) -> None:
    with pytest.raises(SlackApiError) as err:
        await client_for(fake, token="xoxb-wrong").chat_postMessage(channel="C1", text="x")
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await client_for(fake).api_call("reactions.add", json={"channel": "C1"})
    assert err.value.response["error"] == "unknown_method"
    assert fake.messages() == []


async def test_form_encoded_json_fields_are_decoded(fake: FakeSlack) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    await client_for(fake).api_call("chat.postMessage", data={"channel": "C1", "blocks": json.dumps(blocks)})
    assert fake.messages()[0].blocks == blocks


async def test_on_call_wait_for_and_reset(fake: FakeSlack) -> None:
    seen: list[ApiCall] = []
    fake.on_call = seen.append
    await client_for(fake).chat_postMessage(channel="C2", text="x")
    await fake.wait_for(lambda: len(fake.messages("C2")) == 1, timeout=1)
    assert [c.method for c in seen] == ["chat.postMessage"]
    with pytest.raises(AssertionError, match="chat.postMessage"):
        await fake.wait_for(lambda: False, timeout=0.1)
    fake.reset()
    assert fake.calls == [] and fake.messages() == []


def test_sign_verifies_with_slack_sdk() -> None:
    body = slash_command_body("run 1-3", response_url="http://x/respond/r")
    headers = sign("s", body)
    verifier = SignatureVerifier("s")
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "&x=1", headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    fields = dict(urllib.parse.parse_qsl(body))
    assert (fields["command"], fields["text"], fields["user_id"]) == ("/fanout", "run 1-3", "U1")


def test_block_actions_body_shape() -> None:
    body = block_actions_body("retry", "run-1", message_ts="1.2", response_url="http://x", container_thread_ts="1.1")
    payload = json.loads(dict(urllib.parse.parse_qsl(body))["payload"])
    assert payload["type"] == "block_actions" and payload["actions"][0]["value"] == "run-1"
    assert payload["container"]["thread_ts"] == "1.1" and payload["container"]["message_ts"] == "1.2"


async def test_bolt_app_over_http(fake: FakeSlack) -> None:
    app = AsyncApp(signing_secret="s", client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url))
    clicks: list[str] = []

    @app.command("/fanout")
    async def fanout(ack: Any, respond: Any) -> None:
        await ack()
        await respond("hi")

    @app.action("retry")
    async def retry(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        clicks.append(body["actions"][0]["value"])
        await respond(text="retrying", replace_original=False)

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        body = slash_command_body("hello", response_url=fake.response_url("cmd"))
        status, _, elapsed = await post_signed(url, body, "s")
        assert status == 200 and elapsed < 3
        await fake.wait_for(lambda: any(r.get("text") == "hi" for r in fake.responses))
        assert fake.responses[0]["key"] == "cmd"
        assert fake.calls_to("auth.test")  # Bolt's single-workspace authorize went through the fake too

        status, _, _ = await post_signed(url, body, "wrong-secret")
        assert status == 401
        status, _, _ = await post_signed(url, body, "s", timestamp=int(time.time()) - 3600)
        assert status == 401

        click = block_actions_body("retry", "run-1", message_ts="1.2", response_url=fake.response_url("btn"))
        status, _, _ = await post_signed(url, click, "s")
        assert status == 200
        await fake.wait_for(lambda: any(r["key"] == "btn" for r in fake.responses))
        assert clicks == ["run-1"]
    finally:
        await runner.cleanup()


# -- rate limits ----------------------------------------------------------------------------------------------------


def test_default_limits_are_slacks_published_values() -> None:
    limits = SlackLimits()
    assert limits.per_minute("chat.update") == 50  # Tier 3
    assert (limits.post_per_channel_per_second, limits.post_burst, limits.per_minute("chat.postMessage")) == (1, 3, 300)
    for tier4 in ("files.getUploadURLExternal", "files.completeUploadExternal", "views.publish", "views.open",
                  "views.update", "views.push", "users.info"):
        assert limits.per_minute(tier4) == 100, tier4
    for tier3 in ("conversations.history", "conversations.replies", "conversations.open",
                  "functions.completeSuccess", "functions.completeError"):
        assert limits.per_minute(tier3) == 50, tier3
    assert limits.per_minute("auth.test") is None and limits.per_minute("apps.connections.open") is None
    restricted = SlackLimits(history_restricted=True)
    assert restricted.per_minute("conversations.history") == restricted.per_minute("conversations.replies") == 1
    assert (restricted.history_cap(100), limits.history_cap(100)) == (15, 100)
    assert SlackLimits.scaled(20).chat_update_per_minute == 1000 and SlackLimits.scaled(20).post_burst == 3
    assert SlackLimits(history_restricted=True).scaled(2).per_minute("conversations.history") == 2
    assert all(SlackLimits.off().per_minute(m) is None for m in ("chat.update", "chat.postMessage", "views.open"))
    assert SlackLimits.off().post_per_channel_per_second is None


def test_workspace_cap_of_300_posts_a_minute() -> None:
    clock = Clock()
    limiter = RateLimiter(SlackLimits(), clock)
    assert all(limiter.admit("chat.postMessage", f"C{i}") is None for i in range(300))  # one per channel
    assert limiter.admit("chat.postMessage", "C-fresh") == 60
    clock.now = 59.999
    assert limiter.admit("chat.postMessage", "C-fresh") == 1
    clock.now = 60.0
    assert limiter.admit("chat.postMessage", "C-fresh") is None


async def test_chat_update_tier3_with_an_honest_retry_after() -> None:
    clock = Clock()
    async with FakeSlack(clock=clock) as fake:  # the default limits: Slack's
        client = client_for(fake)
        parent = await client.chat_postMessage(channel="C1", text="run")
        update = lambda: client.chat_update(channel="C1", ts=parent["ts"], text="progress")  # noqa: E731
        for second in range(50):  # one a second: 50 in a minute is the limit
            clock.now = float(second)
            await update()
        clock.now = 49.5
        assert await ratelimited(update()) == 11  # the call at t=0 leaves the window at t=60: ceil(10.5)
        clock.now = 60.0
        await update()
        assert await ratelimited(update()) == 1  # the call at t=1 leaves at t=61
        clock.now = 61.0
        await update()

        assert len(fake.calls_to("chat.update")) == 52 and fake.messages("C1")[0].updates == 52
        assert fake.rate_limited("chat.update") == 2
        assert [c.status for c in fake.failed_calls] == [429, 429]
        assert len([a for a in fake.attempts if a.method == "chat.update"]) == 54
        assert fake.max_in_window("chat.update") == 52  # attempts in [1, 61): 49 + 1 refused + 2 at 60
        assert fake.max_in_window("chat.update", window_s=1.0) == 2
        executed = sorted(c.at for c in fake.calls_to("chat.update"))
        assert max(sum(1 for t in executed if start <= t < start + 60) for start in executed) == 50


@pytest.mark.parametrize(("method", "args", "per_minute"), [
    ("chat.update", {"channel": "C1", "ts": "1.0", "text": "x"}, 50),
    ("files.getUploadURLExternal", {"filename": "a.csv", "length": 3}, 100),
    ("files.completeUploadExternal", {"files": json.dumps([{"id": "F0"}])}, 100),
    ("views.publish", {"user_id": "U1", "view": {"type": "home", "blocks": []}}, 100),
    ("views.open", {"trigger_id": "", "view": {}}, 100),
    ("views.update", {"view_id": "V9", "view": {}}, 100),
    ("views.push", {"trigger_id": "", "view": {}}, 100),
    ("conversations.history", {"channel": "C1"}, 50),
    ("conversations.replies", {"channel": "C1", "ts": "1.0"}, 50),
    ("conversations.open", {"users": "U1"}, 50),
    ("users.info", {"user": "U1"}, 100),
    ("functions.completeSuccess", {"function_execution_id": "Fx1", "outputs": "{}"}, 50),
    ("functions.completeError", {"function_execution_id": "Fx1", "error": "no"}, 50),
])
async def test_each_method_has_its_tier(method: str, args: dict[str, Any], per_minute: int) -> None:
    # A tenth of the real limits keeps the test short and still tells Tier 3 (5 a minute) from Tier 4 (10).
    clock = Clock()
    async with FakeSlack(clock=clock, limits=SlackLimits.scaled(0.1)) as fake:
        client = client_for(fake)
        send = (lambda: client.api_call(method, json=args)) if method.startswith(("views.", "chat.")) else \
            (lambda: client.api_call(method, params=args))
        for _ in range(per_minute // 10):
            try:
                await send()
            except SlackApiError as e:  # an ok: false answer still counts, as at Slack
                assert e.response.status_code == 200
        assert await ratelimited(send()) == 60
        clock.now = 60.0
        try:
            await send()
        except SlackApiError as e:
            assert e.response.status_code == 200
        assert fake.rate_limited(method) == 1 and len(fake.calls_to(method)) == per_minute // 10 + 1


async def test_auth_test_and_connections_open_are_unlimited() -> None:
    async with FakeSlack(clock=Clock()) as fake:
        fake.socket_url = "ws://127.0.0.1:1/socket"
        client, app = client_for(fake), client_for(fake, token="xapp-test")
        for _ in range(120):
            await client.auth_test()
        for _ in range(120):
            await app.apps_connections_open(app_token="xapp-test")
        assert fake.rate_limited("auth.test") == fake.rate_limited("apps.connections.open") == 0
        assert fake.max_in_window("auth.test") == 120


async def test_post_message_bucket_per_channel_with_bursts_of_3() -> None:
    clock = Clock()
    async with FakeSlack(clock=clock) as fake:
        client = client_for(fake)
        post = lambda channel: client.chat_postMessage(channel=channel, text="x")  # noqa: E731
        for _ in range(3):  # a burst
            await post("C1")
        assert await ratelimited(post("C1")) == 1
        await post("C2")  # another channel has its own bucket
        clock.now = 0.5
        assert await ratelimited(post("C1")) == 1  # half a token: ceil(0.5 s)
        clock.now = 1.0
        await post("C1")  # one token back a second
        assert await ratelimited(post("C1")) == 1
        clock.now = 3.0
        await post("C1")
        await post("C1")
        assert await ratelimited(post("C1")) == 1
        clock.now = 1000.0  # a long pause refills the bucket to 3, no more
        for _ in range(3):
            await post("C1")
        assert await ratelimited(post("C1")) == 1
        assert (len(fake.messages("C1")), len(fake.messages("C2"))) == (9, 1)  # refused posts are not messages
        assert fake.rate_limited("chat.postMessage") == 5
        assert not any(c in fake.calls for c in fake.failed_calls)


async def test_post_message_workspace_cap() -> None:
    clock = Clock()
    async with FakeSlack(clock=clock, limits=SlackLimits(post_workspace_per_minute=5)) as fake:
        client = client_for(fake)
        for i in range(5):
            clock.now = float(i)
            await client.chat_postMessage(channel=f"C{i}", text="x")
        assert await ratelimited(client.chat_postMessage(channel="C9", text="x")) == 56  # t=0's leaves at 60
        clock.now = 30.0
        assert await ratelimited(client.chat_postMessage(channel="C9", text="x")) == 30
        clock.now = 60.0
        await client.chat_postMessage(channel="C9", text="x")
        assert len(fake.messages()) == 6 and fake.max_in_window("chat.postMessage") == 7


async def test_history_restricted_mode() -> None:
    clock = Clock()
    limits = SlackLimits(history_restricted=True, post_per_channel_per_second=None)
    async with FakeSlack(clock=clock, limits=limits) as fake:
        client = client_for(fake)
        parent = await client.chat_postMessage(channel="C1", text="parent")
        for i in range(20):
            await client.chat_postMessage(channel="C1", text=f"top {i}")
            await client.chat_postMessage(channel="C1", text=f"reply {i}", thread_ts=parent["ts"])
        history = await client.conversations_history(channel="C1", limit=100)
        assert len(history["messages"]) == 15 and history["has_more"] is True
        assert history["messages"][0]["text"] == "top 19"  # newest first
        assert await ratelimited(client.conversations_history(channel="C1")) == 60  # 1 a minute
        replies = await client.conversations_replies(channel="C1", ts=parent["ts"])  # its own minute
        assert len(replies["messages"]) == 15 and replies["has_more"] is True
        clock.now = 59.0
        assert await ratelimited(client.conversations_replies(channel="C1", ts=parent["ts"])) == 1
        clock.now = 60.0
        assert len((await client.conversations_history(channel="C1", limit=5))["messages"]) == 5

    async with FakeSlack(clock=clock, limits=replace(limits, history_restricted=False)) as fake:  # Tier 3
        client = client_for(fake)
        for i in range(20):
            await client.chat_postMessage(channel="C1", text=f"top {i}")
        for _ in range(50):
            assert len((await client.conversations_history(channel="C1"))["messages"]) == 20
        assert await ratelimited(client.conversations_history(channel="C1")) == 60


async def test_limits_off_and_changed_on_a_running_fake() -> None:
    async with FakeSlack(clock=Clock(), limits=SlackLimits.off()) as fake:
        client = client_for(fake)
        for _ in range(10):
            await client.chat_postMessage(channel="C1", text="x")
        assert fake.rate_limited("chat.postMessage") == 0
        fake.limits = SlackLimits()  # from now on Slack's limits
        for _ in range(3):
            await client.chat_postMessage(channel="C2", text="x")
        assert await ratelimited(client.chat_postMessage(channel="C2", text="x")) == 1
        assert len(fake.messages()) == 13


async def test_injected_429_counts_as_an_attempt(fake: FakeSlack) -> None:
    fake.fail_next("users.info", retry_after=7)
    assert await ratelimited(client_for(fake).users_info(user="U1")) == 7
    await client_for(fake).users_info(user="U1")
    assert fake.rate_limited("users.info") == 1 and len(fake.calls_to("users.info")) == 1
    assert [a.status for a in fake.attempts] == [429, 200]


# -- ok: false answers ----------------------------------------------------------------------------------------------


async def test_channel_and_message_errors_as_slack_gives_them(fake: FakeSlack) -> None:
    client = client_for(fake)
    posted = {c: await client.chat_postMessage(channel=c, text="before") for c in ("CARCH", "CKICK", "CGONE", "C1")}
    fake.archive("CARCH")
    fake.kick("CKICK")
    fake.delete_channel("CGONE")
    for channel, error in (("CARCH", "is_archived"), ("CKICK", "not_in_channel"), ("CGONE", "channel_not_found")):
        assert await slack_error(client.chat_postMessage(channel=channel, text="x")) == error
        assert await slack_error(client.chat_update(channel=channel, ts=posted[channel]["ts"], text="x")) == error
    assert len((await client.conversations_history(channel="CARCH"))["messages"]) == 1  # an archive stays readable
    assert await slack_error(client.conversations_history(channel="CKICK")) == "not_in_channel"
    assert await slack_error(client.conversations_replies(channel="CGONE", ts=posted["CGONE"]["ts"])) == \
        "channel_not_found"
    assert await slack_error(client.files_upload_v2(content=b"x", filename="x.csv", channel="CGONE")) == \
        "invalid_channel"
    assert [m.text for m in fake.messages("CARCH")] == ["before"]  # nothing changed there

    fake.delete_message("C1", posted["C1"]["ts"])
    assert await slack_error(client.chat_update(channel="C1", ts=posted["C1"]["ts"], text="x")) == "message_not_found"
    assert fake.messages("C1") == [] and (await client.conversations_history(channel="C1"))["messages"] == []
    with pytest.raises(KeyError):
        fake.delete_message("C1", posted["C1"]["ts"])
    # These are executed calls answered ok: false, with the error recorded.
    assert "is_archived" in [c.error for c in fake.calls_to("chat.postMessage")] and not fake.failed_calls


async def test_revoked_and_wrong_tokens(fake: FakeSlack) -> None:
    client = client_for(fake)
    fake.socket_url = "ws://127.0.0.1:1/socket"
    fake.revoke_token()
    assert await slack_error(client.auth_test()) == "token_revoked"
    assert await slack_error(client.chat_postMessage(channel="C1", text="x")) == "token_revoked"
    assert await slack_error(client.users_info(user="U1")) == "token_revoked"
    assert await slack_error(client_for(fake, token="xapp-test").apps_connections_open(app_token="xapp-test")) == \
        "token_revoked"
    assert await slack_error(client_for(fake, token="xoxb-wrong").auth_test()) == "invalid_auth"
    assert fake.calls == [] and fake.messages() == [] and len(fake.attempts) == 5
    fake.restore_token()
    await client.chat_postMessage(channel="C1", text="back")
    assert await slack_error(client_for(fake, token="xoxb-wrong").chat_postMessage(channel="C1", text="x")) == \
        "invalid_auth"
    assert [m.text for m in fake.messages()] == ["back"]


# -- direct messages ------------------------------------------------------------------------------------------------


async def test_direct_messages(fake: FakeSlack) -> None:
    client = client_for(fake)
    opened = await client.conversations_open(users="U1")
    assert opened["channel"]["id"] == "DU1" and "already_open" not in opened.data
    assert (await client.conversations_open(users=["U1"]))["already_open"] is True
    await client.chat_postMessage(channel=opened["channel"]["id"], text="your run finished")
    app_home = await client.chat_postMessage(channel="U1", text="by user id")  # Slack's app-home DM
    assert app_home["channel"] == "DU1"
    assert [m.text for m in fake.dms("U1")] == [m.text for m in fake.messages("DU1")] == \
        ["your run finished", "by user id"]
    assert fake.messages("U1") == [] and fake.dms("U2") == []
    assert len((await client.conversations_history(channel="DU1"))["messages"]) == 2
    assert await slack_error(client.conversations_open(users="C1")) == "user_not_found"
    assert await slack_error(client.api_call("conversations.open", params={})) == "users_list_not_supplied"
    # The DM has one bucket, whether addressed by user id or channel id: 2 posts above, 1 more, then a 429.
    await client.chat_postMessage(channel="U1", text="third")
    assert await ratelimited(client.chat_postMessage(channel="DU1", text="fourth")) == 1


async def test_conversations_the_app_is_not_in_do_not_exist_for_it(fake: FakeSlack) -> None:
    client = client_for(fake)
    # A DM between two other people, a group DM of others, a private channel the app was not invited to.
    assert await slack_error(client.chat_postMessage(channel="DU2U3", text="x")) == "channel_not_found"
    fake.without_the_app("GMPDM1")
    assert await slack_error(client.chat_postMessage(channel="GMPDM1", text="x")) == "channel_not_found"
    assert await slack_error(client.conversations_history(channel="DU2U3")) == "channel_not_found"
    await client.chat_postMessage(channel="GPRIVATE", text="a private channel it is in")


# -- views ----------------------------------------------------------------------------------------------------------


def modal(blocks: int = 1, **extra: Any) -> dict[str, Any]:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    return {"type": "modal", "title": {"type": "plain_text", "text": "Fan-out"}, "blocks": [section] * blocks, **extra}


def fresh_trigger() -> str:
    return f"{int(time.time())}.{time.monotonic_ns()}.fake"  # as devkit.fake_slack.requests makes them


async def test_views_open_validates_like_slack(fake: FakeSlack) -> None:
    client = client_for(fake)
    opened = await client.views_open(trigger_id=fresh_trigger(), view=modal(100, private_metadata="m" * 3000))
    assert opened["view"]["id"].startswith("V") and opened["view"]["hash"] and opened["view"]["type"] == "modal"
    assert fake.views[0]["id"] == opened["view"]["id"] and len(fake.views[0]["view"]["blocks"]) == 100

    err = await refused(client.views_open(trigger_id=fresh_trigger(), view=modal(101)))
    assert err.response.status_code == 200 and err.response.data == {
        "ok": False, "error": "invalid_arguments",
        "response_metadata": {"messages": ["[ERROR] failed to match all allowed schemas [json-pointer:/view]",
                                           "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"]}}
    big = {**modal(), "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2900}}] * 90}
    assert len(json.dumps(big)) > 250_000
    assert await slack_error(client.views_open(trigger_id=fresh_trigger(), view=big)) == "view_too_large"
    for bad, pointer in ((modal(private_metadata="m" * 3001), "/view/private_metadata"),
                         (modal(title={"type": "plain_text", "text": "t" * 25}), "/view/title/text"),
                         (modal(title={"type": "mrkdwn", "text": "t"}), "/view/title/type"),
                         ({**modal(), "type": "home"}, "/view/type")):
        err = await refused(client.views_open(trigger_id=fresh_trigger(), view=bad))
        assert err.response["error"] == "invalid_arguments", bad
        assert any(pointer in m for m in err.response["response_metadata"]["messages"]), bad
    untitled = {k: v for k, v in modal().items() if k != "title"}
    assert await slack_error(client.views_open(trigger_id=fresh_trigger(), view=untitled)) == "invalid_arguments"
    assert len(fake.views) == 1  # nothing refused was opened


async def test_trigger_ids(fake: FakeSlack) -> None:
    client = client_for(fake)
    stale = f"{int(time.time()) - 10}.1.fake"
    assert await slack_error(client.views_open(trigger_id=stale, view=modal())) == "expired_trigger_id"
    assert await slack_error(client.views_open(trigger_id="", view=modal())) == "invalid_trigger_id"
    await client.views_open(trigger_id="trigger-0a1b", view=modal())  # the tests' form: always fresh
    assert await slack_error(client.views_open(trigger_id="trigger-0a1b", view=modal())) == "exchanged_trigger_id"
    assert [v["trigger_id"] for v in fake.views] == ["trigger-0a1b"]

    wall = Clock(1000.0)
    async with FakeSlack(wall_clock=wall) as timed:
        timed_client = client_for(timed)
        wall.now = 1003.9  # issued during second 1000, so at most 3.9 s ago
        await timed_client.views_open(trigger_id="1000.1.fake", view=modal())
        wall.now = 1004.1  # certainly more than 3 s ago
        assert await slack_error(timed_client.views_open(trigger_id="1000.2.fake", view=modal())) == \
            "expired_trigger_id"


async def test_views_push_update_and_publish(fake: FakeSlack) -> None:
    client = client_for(fake)
    root = (await client.views_open(trigger_id="trigger-1", view=modal(external_id="run-1")))["view"]
    pushed = (await client.views_push(trigger_id="trigger-2", view=modal()))["view"]
    assert (pushed["root_view_id"], pushed["previous_view_id"]) == (root["id"], root["id"])
    await client.views_push(trigger_id="trigger-3", view=modal())
    assert await slack_error(client.views_push(trigger_id="trigger-4", view=modal())) == "push_limit_reached"
    assert [v["method"] for v in fake.views] == ["views.open", "views.push", "views.push"]

    updated = (await client.views_update(view_id=root["id"], hash=root["hash"], view=modal(2)))["view"]
    assert updated["id"] == root["id"] and updated["hash"] != root["hash"]
    assert await slack_error(client.views_update(view_id=root["id"], hash=root["hash"], view=modal())) == \
        "hash_conflict"
    await client.views_update(external_id="run-1", view=modal(3))
    assert len(fake.views[0]["view"]["blocks"]) == 3 and fake.views[0]["updates"] == 2
    assert await slack_error(client.views_update(view_id="V9999", view=modal())) == "not_found"
    assert await slack_error(client.views_update(view_id=root["id"], view=modal(101))) == "invalid_arguments"
    assert await slack_error(client.views_open(trigger_id="trigger-5", view=modal(external_id="run-1"))) == \
        "duplicate_external_id"

    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "runs"}}]}
    first = (await client.views_publish(user_id="U1", view=home))["view"]
    second = (await client.views_publish(user_id="U1", view={**home, "blocks": []}, hash=first["hash"]))["view"]
    assert first["id"] == second["id"] and fake.home_tabs["U1"]["blocks"] == [] and fake.home_publishes("U1") == 2
    assert await slack_error(client.views_publish(user_id="U1", view=home, hash=first["hash"])) == "hash_conflict"
    assert await slack_error(client.views_publish(user_id="U2", view=modal())) == "invalid_arguments"
    assert fake.home_publishes("U2") == 0 and "U2" not in fake.home_tabs


# -- Workflow Builder functions -------------------------------------------------------------------------------------


async def test_functions_complete_once(fake: FakeSlack) -> None:
    client = client_for(fake)
    await client.functions_completeSuccess(function_execution_id="Fx1", outputs={"run_id": "run-1"})
    assert fake.function_results["Fx1"] == {"ok": True, "outputs": {"run_id": "run-1"}}
    assert await slack_error(client.functions_completeError(function_execution_id="Fx1", error="late")) == \
        "function_execution_not_found"
    assert await slack_error(client.functions_completeSuccess(function_execution_id="Fx1", outputs={})) == \
        "function_execution_not_found"

    workflow = client_for(fake, token=fake.issue_workflow_token("Fx2"))
    assert workflow.token is not None and workflow.token.startswith("xwfp-")
    await workflow.chat_postMessage(channel="C1", text="from a workflow step")  # a workflow token is a bot token
    assert await slack_error(workflow.functions_completeSuccess(function_execution_id="Fx3", outputs={})) == \
        "access_denied"
    await workflow.functions_completeError(function_execution_id="Fx2", error="values must be numbers")
    assert fake.function_results["Fx2"] == {"ok": False, "error": "values must be numbers"}
    assert await slack_error(workflow.functions_completeError(function_execution_id="Fx2", error="again")) == \
        "token_expired"  # a workflow token lasts as long as its execution
    assert await slack_error(client.functions_completeError(function_execution_id="Fx2", error="again")) == \
        "function_execution_not_found"
    later = client_for(fake, token=fake.issue_workflow_token("Fx5"))
    fake.expire_workflow_tokens()
    assert await slack_error(later.chat_postMessage(channel="C1", text="too late")) == "token_expired"
    await client.functions_completeSuccess(function_execution_id="Fx5", outputs={})  # the bot token still can
    unknown = client_for(fake, token="xwfp-never-issued")
    assert await slack_error(unknown.functions_completeSuccess(function_execution_id="Fx4", outputs={})) == \
        "invalid_auth"
    assert set(fake.function_results) == {"Fx1", "Fx2", "Fx5"}


# -- reads ----------------------------------------------------------------------------------------------------------


async def test_history_and_replies_arguments() -> None:
    async with FakeSlack(limits=SlackLimits.off()) as fake:
        client = client_for(fake)
        meta = Metadata(event_type="fanout_run", event_payload={"run_id": "r"})
        tops = [await client.chat_postMessage(channel="C1", text=f"top {i}", metadata=meta) for i in range(5)]
        for i in range(4):
            await client.chat_postMessage(channel="C1", text=f"reply {i}", thread_ts=tops[0]["ts"])
        await client.files_upload_v2(content=b"a,b\n", filename="r.csv", channel="C1", thread_ts=tops[0]["ts"])

        newer = await client.conversations_history(channel="C1", oldest=tops[2]["ts"])
        assert [m["text"] for m in newer["messages"]] == ["top 4", "top 3"]  # ts > oldest, newest first
        limited = await client.conversations_history(channel="C1", limit=2, include_all_metadata=True)
        assert [m["text"] for m in limited["messages"]] == ["top 4", "top 3"] and limited["has_more"] is True
        assert limited["messages"][0]["metadata"]["event_payload"] == {"run_id": "r"}
        assert "metadata" not in (await client.conversations_history(channel="C1"))["messages"][0]
        assert (await client.conversations_history(channel="C1", oldest="0"))["has_more"] is False
        assert await slack_error(client.conversations_history(channel="C1", oldest="yesterday")) == "invalid_ts_oldest"

        thread = await client.conversations_replies(channel="C1", ts=tops[0]["ts"], include_all_metadata=True)
        assert [m.get("text") for m in thread["messages"]][:5] == ["top 0", "reply 0", "reply 1", "reply 2", "reply 3"]
        assert thread["messages"][5]["files"][0]["name"] == "r.csv" and thread["has_more"] is False
        assert thread["messages"][0]["metadata"]["event_type"] == "fanout_run"
        short = await client.conversations_replies(channel="C1", ts=tops[0]["ts"], limit=3)
        assert len(short["messages"]) == 3 and short["has_more"] is True and "metadata" not in short["messages"][0]


# -- persistence ----------------------------------------------------------------------------------------------------


async def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "slack.json"
    async with FakeSlack(state_path=state) as first:
        client = client_for(first)
        parent = await client.chat_postMessage(channel="C1", text="run", metadata={"event_type": "fanout_run",
                                                                                  "event_payload": {"run_id": "r"}})
        await client.chat_postMessage(channel="C1", text="reply", thread_ts=parent["ts"])
        await client.chat_update(channel="C1", ts=parent["ts"], text="run: done")
        await client.files_upload_v2(content=b"1,ok\n", filename="r.csv", channel="C1", thread_ts=parent["ts"])
        last_ts = (await client.chat_postMessage(channel="C2", text="other"))["ts"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slack.json"]  # no temp file left behind
    saved = json.loads(state.read_text())
    assert len(saved["messages"]) == 3 and "content" not in saved["files"][0]

    async with FakeSlack(state_path=state) as second:
        client = client_for(second)
        [top, reply] = second.messages("C1")
        assert (top.text, top.updates, top.metadata, reply.thread_ts) == (
            "run: done", 1, {"event_type": "fanout_run", "event_payload": {"run_id": "r"}}, parent["ts"])
        thread = await client.conversations_replies(channel="C1", ts=parent["ts"], include_all_metadata=True)
        assert [m.get("text") for m in thread["messages"][:2]] == ["run: done", "reply"]
        assert thread["messages"][2]["files"][0]["name"] == "r.csv"
        assert second.files[0]["content"] == b""  # the bytes are not kept
        new = await client.chat_postMessage(channel="C1", text="after the restart")
        assert float(new["ts"]) > float(last_ts)  # the ts sequence goes on
        upload = await client.files_getUploadURLExternal(filename="s.csv", length=1)
        assert upload["file_id"] != second.files[0]["id"]
        await client.chat_update(channel="C1", ts=parent["ts"], text="updated after the restart")
    assert json.loads(state.read_text())["messages"][0]["text"] == "updated after the restart"


async def test_no_state_without_state_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    async with FakeSlack() as fake:
        await client_for(fake).chat_postMessage(channel="C1", text="x")
        fake.reset()
    assert list(tmp_path.iterdir()) == []


async def test_reset_forgets_limits_and_workspace_state() -> None:
    clock = Clock()
    async with FakeSlack(clock=clock) as fake:
        client = client_for(fake)
        for _ in range(3):
            await client.chat_postMessage(channel="C1", text="x")
        assert await ratelimited(client.chat_postMessage(channel="C1", text="x")) == 1
        fake.archive("C1")
        fake.revoke_token()
        fake.reset()
        assert fake.attempts == [] and fake.rate_limited("chat.postMessage") == 0
        for _ in range(3):
            await client.chat_postMessage(channel="C1", text="again")
        assert len(fake.messages("C1")) == 3 and math.isclose(fake.calls[0].at, 0.0)


# -- what Slack refuses in a payload (devkit.fake_slack.blockkit, every rule tested in tests/test_blockkit.py) -------


def buttons(*action_ids: str, block_id: str = "b") -> dict[str, Any]:
    return {"type": "actions", "block_id": block_id, "elements": [
        {"type": "button", "text": {"type": "plain_text", "text": a}, "action_id": a} for a in action_ids]}


@pytest.fixture
async def unlimited() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(limits=SlackLimits.off()) as slack:
        yield slack


async def test_messages_slack_refuses_are_refused_as_slack_refuses_them(unlimited: FakeSlack) -> None:
    fake, client = unlimited, client_for(unlimited)
    err = await refused(client.chat_postMessage(channel="C1", text="x", blocks=[buttons("go", "go")]))
    assert err.response["error"] == "invalid_blocks"
    assert any("/blocks/0/elements/1/action_id" in m for m in err.response["response_metadata"]["messages"])
    assert err.response["errors"] and not err.response["errors"][0].startswith("[ERROR]")
    twice = [buttons("a", block_id="same"), buttons("b", block_id="same")]
    assert await slack_error(client.chat_postMessage(channel="C1", text="x", blocks=twice)) == "invalid_blocks"
    posted = await client.chat_postMessage(channel="C1", text="x", blocks=[buttons("a", "b", block_id="same")])
    # A block_id an earlier version of the message had is fine in an update (advice, not a refusal).
    await client.chat_update(channel="C1", ts=posted["ts"], text="y", blocks=[buttons("a", block_id="same")])
    assert await slack_error(client.chat_update(channel="C1", ts=posted["ts"], text="y",
                                                blocks=[buttons("a", "a")])) == "invalid_blocks"
    assert [m.blocks[0]["elements"][0]["action_id"] for m in fake.messages("C1")] == ["a"]  # only valid ones landed
    # The method's own errors for missing arguments, invalid_arguments for a wrong type.
    assert await slack_error(client.api_call("chat.postMessage", json={"text": "x"})) == "channel_not_found"
    assert await slack_error(client.api_call("chat.postMessage", json={"channel": "C1"})) == "no_text"
    assert await slack_error(client.api_call("chat.postMessage",
                                             json={"channel": "C1", "text": "x", "thread_ts": ["1"]})) == \
        "invalid_arguments"


async def test_what_slack_accepts_is_accepted(unlimited: FakeSlack) -> None:
    fake, client = unlimited, client_for(unlimited)
    with pytest.warns(UserWarning, match="top-level `text` argument is missing"):  # slack_sdk's own, client-side
        answer = await client.chat_postMessage(channel="C1", blocks=[buttons("a")])
    assert answer["ok"] is True and "warning" not in answer.data  # type: ignore[operator]  # none from Slack
    long = await client.chat_postMessage(channel="C1", text="😀" * 40_001)  # 40,001 characters: truncated
    assert long["warning"] == "message_truncated" and len(fake.messages("C1")[-1].text) == 40_000
    # Form-encoded booleans and JSON-text arguments, as some clients send them.
    await client.api_call("chat.postMessage", data={"channel": "C1", "text": "x", "unfurl_links": "true",
                                                    "blocks": json.dumps([buttons("a")])})
    assert await client.api_call("conversations.history", http_verb="GET",
                                 params={"channel": "C1", "include_all_metadata": "1"})


async def test_views_and_response_urls_slack_refuses(fake: FakeSlack) -> None:
    client = client_for(fake)
    home = {"type": "home", "blocks": [buttons("fanout_new_run", "fanout_new_run")]}
    err = await refused(client.views_publish(user_id="U1", view=home))
    assert err.response["error"] == "invalid_arguments"
    assert fake.home_tabs == {}
    async with aiohttp.ClientSession() as session:
        async with session.post(fake.response_url("bad"), json={"response_type": "ephemeral", "text": "x",
                                                                "blocks": [buttons("a", "a")]}) as res:
            assert (res.status, await res.text()) == (400, "invalid_blocks")
    assert fake.responses == [] and fake.refused_responses[0]["key"] == "bad"


def test_acks_slack_refuses_fail_as_they_do_in_slack() -> None:
    command = slash_command_body("help", response_url="http://x/respond/k")
    good = json.dumps({"response_type": "ephemeral", "text": "x", "blocks": [buttons("a", "b")]})
    assert ack_refusal(command, good) is None and ack_refusal(command, "") is None
    bad = ack_refusal(command, json.dumps({"response_type": "ephemeral", "text": "x", "blocks": [buttons("a", "a")]}))
    assert bad is not None and bad["error"] == "invalid_command_response"
    field = {"type": "input", "block_id": "values", "label": {"type": "plain_text", "text": "Values"},
             "element": {"type": "plain_text_input", "action_id": "input"}}
    view = {"type": "modal", "title": {"type": "plain_text", "text": "t"},
            "submit": {"type": "plain_text", "text": "s"}, "blocks": [field]}
    submission = urllib.parse.urlencode({"payload": json.dumps({"type": "view_submission", "view": view})})
    assert ack_refusal(submission, json.dumps({"response_action": "errors", "errors": {"values": "no"}})) is None
    refused_ack = ack_refusal(submission, json.dumps({"response_action": "errors", "errors": {"nope": "no"}}))
    assert refused_ack is not None and refused_ack["error"] == "invalid_view_submission_response"
