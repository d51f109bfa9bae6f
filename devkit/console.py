"""``python -m devkit.console [--state PATH]``: the whole /fanout loop in a terminal, before any Slack app exists.

Type ``/fanout 1 2 3 4 5``. Each line goes to the real Bolt app as a signed slash-command request; the
bot's workers run here too, as in ``python -m bot``, and their Slack calls go to the loopback stand-in
for Slack (devkit.fake_slack.web_api), which this prints: the run's message, its progress, the summary, the files.
``/fanout`` alone opens the run form, as in Slack: here it is asked field by field, submitted to the bot
as Slack would submit it, and its inline errors shown on the fields they are about. ``/fanout details <run-id>``
opens a run's Details modal: here its content is printed once the bot has filled it in (``views.update``).

The stand-in keeps its messages in ``--state`` (default ``.dev/console-slack.json``) and the console
uses its own task queues (FANOUT_ENV=console), so after Ctrl-C and a new ``make dev`` a run that was
going reports here once it finishes: Temporal kept its reporter, this file kept its thread.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web
from temporalio.client import WorkflowFailureError
from temporalio.service import RPCError

from bot.app import build_bot
from bot.files.timeline import text_timeline
from bot.mrkdwn import mrkdwn_to_text
from bot.render.details import BATCH_CALLBACK, RUN_CALLBACK, STORY_CALLBACK
from bot.render.form import CALLBACK_ID as FORM
from bot.render.run import pictured
from bot.render.terminal import blocks_to_text, view_text
from bot.runs.results import run_request
from bot.settings import Settings
from devkit.fake_slack.requests import fields, post_signed, slash_command_body, state_of, view_submission_body
from devkit.fake_slack.web_api import ApiCall, FakeSlack
from runtime.config import ConfigError, load_dotenv_once
from runtime.logs import configure_logging, hard_exit
from runtime.temporal import TemporalGateway, TemporalUnavailable, process_runtime
from workflows.model import FanoutResult

SECRET = "console-signing-secret"
TOKEN = "xoxb-console"
PROMPT = "fanout> "
DEFAULT_STATE = Path(".dev") / "console-slack.json"
DETAILS = (RUN_CALLBACK, STORY_CALLBACK, BATCH_CALLBACK)  # the Details modal's views


class Printer:
    """Prints what the bot does in the stand-in Slack, as a newcomer would see it."""

    def __init__(self, gateway: TemporalGateway) -> None:
        self.gateway = gateway
        self.tasks: set[asyncio.Task[None]] = set()

    def show(self, call: ApiCall) -> None:
        p = call.params
        body = blocks_to_text(p.get("blocks") or [], plain=True) or [mrkdwn_to_text(str(p.get("text", "")),
                                                                                     plain=True)]
        if call.method == "chat.postMessage":
            where = f"thread {p['thread_ts']}" if p.get("thread_ts") else f"#{p.get('channel')}"
            heading = f"── bot posts in {where} ──"
        elif call.method == "chat.update":
            heading = f"── bot updates message {p.get('ts')} ──"
        elif call.method == "response_url":
            heading = "── only you can see this ──"
        elif call.method == "files.completeUploadExternal":
            heading, body = "── bot uploads a file ──", [str(f.get("title", "")) for f in p.get("files", [])]
        elif call.method == "views.update" and not call.error and (p.get("view") or {}).get("callback_id") in DETAILS:
            # The Details modal as the bot filled it in (views.open showed "Reading…" first). Its buttons need a
            # click, which a terminal has not: its first page is what the console shows.
            heading, body = "── the bot shows you a modal (only you see it) ──", view_text(p["view"])
        else:
            return
        self._print(heading, body, indent="    " if p.get("thread_ts") else "  ")
        metadata = p.get("metadata") or {}
        if call.method == "chat.postMessage" and metadata.get("event_type") == "fanout_summary":
            run_id = str((metadata.get("event_payload") or {}).get("workflow_id", ""))
            task = asyncio.get_running_loop().create_task(self._timeline(run_id))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    async def _timeline(self, run_id: str) -> None:
        """The timeline as text, for a run whose thread gets it as a PNG in Slack (10 children or more), read from
        the run's result in Temporal."""
        try:
            client = await self.gateway.client()
            result = await client.get_workflow_handle(run_id, result_type=FanoutResult).result()
            request = await run_request(client, run_id)  # its values label the rows
        except (TemporalUnavailable, RPCError, WorkflowFailureError) as err:  # the summary said how it went
            self._print(f"── no timeline of {run_id}: {err} ──", [], indent="    ")
            return
        text = text_timeline(result, request.ranges)
        if text and pictured(result):  # as in Slack: only a thread that gets the PNG
            self._print(f"── timeline of {run_id} (a PNG in the thread) ──", text.splitlines(), indent="    ")

    @staticmethod
    def _print(heading: str, lines: list[str], indent: str) -> None:
        print("\n" + indent + heading)
        for line in lines:
            for part in line.splitlines():
                print(indent + part)
        print(PROMPT, end="", flush=True)


async def serve_console(settings: Settings, state: Path) -> None:
    process_runtime(worker_heartbeats=False)
    gateway = TemporalGateway()
    printer = Printer(gateway)
    state.parent.mkdir(parents=True, exist_ok=True)
    fake = FakeSlack(bot_token=TOKEN, on_call=printer.show, state_path=state)
    await fake.start()
    settings = replace(settings, slack_bot_token=TOKEN, slack_signing_secret=SECRET, slack_app_token="",
                       slack_api_url=fake.base_url, environment="console")
    bot = await build_bot(settings, gateway=gateway)
    stop = asyncio.Event()
    workers = asyncio.create_task(bot.workers.run(stop))
    runner = web.AppRunner(bot.app.web_app(path="/slack/events"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    print("/fanout console — the real bot, with a terminal standing in for Slack.")
    print("Type `/fanout 1 2 3 4 5` or `/fanout help`; Ctrl-D or `exit` quits.")
    loop = asyncio.get_running_loop()
    try:
        while not workers.done():
            print(PROMPT, end="", flush=True)
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line or line.strip() in ("exit", "quit"):
                break
            text = line.strip().removeprefix("/fanout").strip()
            if not line.strip():
                continue
            body = slash_command_body(text, user_id="UCONSOLE", user_name="you", channel_id="CCONSOLE",
                                      channel_name="console", team_id=bot.team_id,
                                      response_url=fake.response_url("console"))
            opened = len(fake.views)
            status, answer, _ = await post_signed(url, body, SECRET)
            if status != 200:
                print(f"(the app answered HTTP {status})")
            elif answer.strip():  # an ack with a body: the private answer (errors, help)
                printer.show(ApiCall("response_url", json.loads(answer), "", 0.0))
            if not text:  # `/fanout` alone: the bot opens the form (views.open, just after its ack)
                try:
                    await fake.wait_for(lambda: len(fake.views) > opened, timeout=3)  # noqa: B023
                except AssertionError:
                    print("(the form did not open)")
            if len(fake.views) > opened and fake.views[-1]["view"].get("callback_id") == FORM:
                record = fake.views[-1]
                await fill_in({**record["view"], "id": record["id"]}, url, bot.team_id)
    finally:
        stop.set()
        await runner.cleanup()
        await workers  # raises a ConfigError that stopped them (e.g. missing search attributes)
        await fake.stop()


async def ask(prompt: str) -> str | None:
    print(prompt, end="", flush=True)
    line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    return None if not line else line.rstrip("\n")


async def fill_in(view: dict[str, Any], url: str, team_id: str) -> None:
    """The form, as prompts: Enter keeps [the value shown], a number picks a choice, `cancel` closes it."""
    print(f"\n  ── the bot opens a form: {view.get('title', {}).get('text', 'form')} ── "
          "(Enter keeps [the value shown]; `cancel` closes it)")
    typed: dict[str, str] = {}
    asking = fields(view)
    while True:
        for field in asking:
            options = "".join(f"\n      {i}) {label}" for i, (_, label) in enumerate(field.choices, 1))
            shown = dict(field.choices).get(typed.get(field.block_id, field.default), typed.get(
                field.block_id, field.default))
            answer = await ask(f"    {field.label}{options}\n    [{shown}] > ")
            if answer is None or answer.strip() == "cancel":
                print("  (form closed; nothing started)")
                return
            answer = answer.strip()
            if answer.isdigit() and field.choices and 1 <= int(answer) <= len(field.choices):
                answer = field.choices[int(answer) - 1][0]
            if answer:
                typed[field.block_id] = answer
        body = view_submission_body(view, state_of(view, **typed), user_id="UCONSOLE", team_id=team_id)
        status, raw, _ = await post_signed(url, body, SECRET)
        errors = (json.loads(raw) if raw.strip() else {}).get("errors") or {}
        if status != 200 or not errors:
            print("  (form submitted)" if status == 200 else f"  (the app answered HTTP {status})")
            return
        labels = {f.block_id: f for f in fields(view)}
        for block_id, message in errors.items():
            print(f"  ⚠ {labels[block_id].label if block_id in labels else block_id}: {message}")
        asking = [labels[b] for b in errors if b in labels]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m devkit.console", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=DEFAULT_STATE,
                        help=f"the stand-in Slack's file (default {DEFAULT_STATE})")
    args = parser.parse_args(argv)
    load_dotenv_once()
    try:
        configure_logging({"LOG_LEVEL": "WARNING"})
        settings = Settings.from_env(require_slack=False)
        asyncio.run(serve_console(settings, args.state))
    except ConfigError as err:
        print(f"console: {err}", file=sys.stderr)
        hard_exit(2)
    except KeyboardInterrupt:
        print()
    hard_exit(0)


if __name__ == "__main__":
    main()
