"""``python -m bot.console``: the whole /fanout loop in a terminal, before any Slack app exists.

Type ``/fanout 1 2 3 4 5``. Each line goes to the real Bolt app as a signed slash-command
request; the app's Web API calls go to the loopback stand-in for Slack (bot.devslack), and
this prints the messages the bot would post: the run's message, its progress, the summary.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import replace
from typing import Any

from aiohttp import web

from bot.app import build_app
from bot.config import ConfigError, Settings, load_dotenv_once
from bot.devslack import ApiCall, FakeSlack
from bot.runs import RunInfo
from bot.slack_requests import post_signed, slash_command_body
from bot.temporal import TemporalGateway
from bot.textview import blocks_to_text, mrkdwn_to_text
from bot.timeline_text import text_timeline
from workflows.model import FanoutResult

SECRET = "console-signing-secret"
TOKEN = "xoxb-console"
PROMPT = "fanout> "
def show(call: ApiCall) -> None:
    p = call.params
    body = blocks_to_text(p.get("blocks") or [], plain=True) or [mrkdwn_to_text(str(p.get("text", "")), plain=True)]
    if call.method == "chat.postMessage":
        where = f"thread {p['thread_ts']}" if p.get("thread_ts") else f"#{p.get('channel')}"
        heading = f"── bot posts in {where} ──"
    elif call.method == "chat.update":
        heading = f"── bot updates message {p.get('ts')} ──"
    elif call.method == "response_url":
        heading = "── only you can see this ──"
    elif call.method == "files.completeUploadExternal":
        heading, body = "── bot uploads a file ──", [str(f.get("title", "")) for f in p.get("files", [])]
    else:
        return
    indent = "    " if p.get("thread_ts") else "  "
    print("\n" + indent + heading)
    for line in body:
        for part in line.splitlines():
            print(indent + part)
    print(PROMPT, end="", flush=True)


async def print_timeline(slack: Any, handle: Any, run: RunInfo, result: FanoutResult) -> None:
    """Console-only attachment: the run's timeline as text, in the thread, after the uploads."""
    text = text_timeline(result)
    if text:
        print(f"\n    ── timeline of {run.workflow_id} (the PNG in the thread) ──")
        for line in text.splitlines():
            print("    " + line)
        print(PROMPT, end="", flush=True)


async def serve_console(settings: Settings) -> None:
    fake = FakeSlack(bot_token=TOKEN, on_call=show)
    await fake.start()
    settings = replace(settings, slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_app_token="",
                       slack_api_url=fake.base_url)
    app = build_app(settings, TemporalGateway())
    app.fanout_state["reporter"].attachments.append(print_timeline)  # type: ignore[attr-defined]
    runner = web.AppRunner(app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    print("/fanout console — the real bot, with a terminal standing in for Slack.")
    print("Type `/fanout 1 2 3 4 5` or `/fanout help`; Ctrl-D or `exit` quits.")
    loop = asyncio.get_running_loop()
    try:
        while True:
            print(PROMPT, end="", flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() in ("exit", "quit"):
                break
            text = line.strip()
            if not text:
                continue
            text = text.removeprefix("/fanout").strip()
            body = slash_command_body(text, user_id="UCONSOLE", user_name="you", channel_id="CCONSOLE",
                                      channel_name="console", response_url=fake.response_url("console"))
            status, answer, _ = await post_signed(url, body, SECRET)
            if status != 200:
                print(f"(the app answered HTTP {status})")
            elif answer.strip():  # an ack with a body: the private answer (errors, help)
                show(ApiCall("response_url", json.loads(answer), "", 0.0))
    finally:
        await app.fanout_state["reporter"].drain(timeout_s=2)  # type: ignore[attr-defined]
        await runner.cleanup()
        await fake.stop()


def main() -> None:
    load_dotenv_once()
    try:
        settings = Settings.from_env(require_slack=False)
        asyncio.run(serve_console(settings))
    except ConfigError as err:
        print(f"console: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print()


if __name__ == "__main__":
    main()
