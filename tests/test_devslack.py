"""FakeSlack must look like Slack to the real slack_sdk client and to a real Bolt app in HTTP mode."""

from __future__ import annotations

import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler, AsyncServerErrorRetryHandler
from slack_sdk.models.blocks import ActionsBlock, ButtonElement, SectionBlock
from slack_sdk.models.metadata import Metadata
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.devslack import ApiCall, FakeSlack
from bot.slack_requests import block_actions_body, post_signed, sign, slash_command_body


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as slack:
        yield slack


def client_for(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=kwargs.pop("token", "xoxb-test"), base_url=fake.base_url, **kwargs)


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
