"""``python -m bot`` as a real process in HTTP mode: /healthz, clean stop, and one-line start-up errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.__main__ import health_handler
from bot.slack.calls import SlackHealth
from devkit.fake_slack.web_api import FakeSlack
from tests.entrypoints import PYTHON, Service, child_env, free_port, run, wait_http

TOKEN = "xoxb-test"


@pytest.fixture(scope="module")
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(bot_token=TOKEN) as fake:
        yield fake


def bot_env(slack: FakeSlack, temporal_address: str, **values: str) -> dict[str, str]:
    base = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "health-secret", "SLACK_API_URL": slack.base_url,
            "TEMPORAL_ADDRESS": temporal_address, "HOST": "127.0.0.1", "PORT": str(free_port())}
    return child_env(**{**base, **values})


Probe = tuple[int, dict[str, Any], int, str]  # status, body, exit code, log


async def serve_and_probe(env: dict[str, str], log: Path, *, until_workers: str = "") -> Probe:
    """/healthz of the real bot: its first answer, or (``until_workers``) the first whose workers say that
    (they start polling a moment after the port opens)."""
    bot = await Service.start([PYTHON, "-m", "bot"], env, log)
    try:
        url = f"http://127.0.0.1:{env['PORT']}/healthz"
        status, body = await wait_http(url, bot)
        for _ in range(150):
            if not until_workers or json.loads(body).get("workers") == until_workers:
                break
            await asyncio.sleep(0.1)
            status, body = await wait_http(url, bot)
    finally:
        code = await bot.stop(timeout_s=15)
    return status, json.loads(body), code, bot.output()


async def test_healthz_answers_and_reports_temporal(slack: FakeSlack, temporal_address: str, tmp_path: Path) -> None:
    status, body, code, log = await serve_and_probe(bot_env(slack, temporal_address), tmp_path / "bot.log",
                                                    until_workers="running")
    assert status == 200
    assert body == {"ok": True, "mode": "http", "temporal": "connected", "workers": "running",
                    "slack_token": "accepted"}
    assert code == 0, log
    assert "bot stopped" in log and "Traceback" not in log
    assert "token` will be unused" not in log  # Bolt's start-up noise is filtered
    assert any(c.method == "auth.test" for c in slack.calls)  # the token was checked at start


async def test_healthz_stays_ok_while_temporal_is_down(slack: FakeSlack, tmp_path: Path) -> None:
    nowhere = f"127.0.0.1:{free_port()}"  # nothing listens there
    status, body, code, log = await serve_and_probe(bot_env(slack, nowhere), tmp_path / "bot.log")
    assert status == 200
    assert body == {"ok": True, "mode": "http", "temporal": "unreachable", "workers": "waiting",
                    "slack_token": "accepted"}
    assert code == 0, log
    assert "will connect when a command arrives" in log


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"SLACK_SIGNING_SECRET": ""},
         "bot: SLACK_SIGNING_SECRET is not set (needed in HTTP mode; set SLACK_APP_TOKEN for Socket Mode)"),
        ({"SLACK_BOT_TOKEN": "xoxb-wrong"}, "bot: SLACK_BOT_TOKEN was refused by Slack (invalid_auth)"),
        ({"SLACK_BOT_TOKEN": ""}, "bot: SLACK_BOT_TOKEN is not set (the bot's xoxb- token; see .env.example)"),
        ({"LOG_LEVEL": "chatty"}, "bot: LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL; got 'CHATTY'"),
        ({"LOG_FORMAT": "xml"}, "bot: LOG_FORMAT must be one of text, json; got 'xml'"),
        ({"PORT": "http"}, "bot: PORT must be a whole number, got 'http'"),
    ],
    ids=["no-signing-secret", "wrong-token", "no-token", "bad-log-level", "bad-log-format", "bad-port"],
)
async def test_startup_problems_are_one_line_exit_2(
    slack: FakeSlack, temporal_address: str, values: dict[str, str], expected: str
) -> None:
    code, out, err = await run([PYTHON, "-m", "bot"], bot_env(slack, temporal_address, **values), timeout_s=30)
    assert (code, err) == (2, expected + "\n"), out


class _Gateway:
    def __init__(self, up: bool) -> None:
        self.up = up

    async def reachable(self, timeout_s: float = 1.5) -> bool:
        return self.up


def _bot(up: bool, health: SlackHealth) -> SimpleNamespace:
    """What the health handler reads of the bot: its gateway and its workers' state."""
    return SimpleNamespace(gateway=_Gateway(up), workers=SimpleNamespace(running=up, health=health))


async def test_socket_mode_health_reports_the_websocket() -> None:
    async def connected() -> bool:
        return False

    app = web.Application()
    app.router.add_get("/healthz", health_handler(_bot(True, SlackHealth()), "socket", connected))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as http:
        response = await http.get("/healthz")
        assert response.status == 200
        assert await response.json() == {"ok": True, "mode": "socket", "temporal": "connected", "workers": "running",
                                         "slack_token": "accepted", "slack": "disconnected"}


async def test_a_token_slack_refuses_turns_health_red_until_it_is_accepted_again() -> None:
    health = SlackHealth()
    app = web.Application()
    app.router.add_get("/healthz", health_handler(_bot(True, health), "http"))  # type: ignore[arg-type]
    async with TestClient(TestServer(app)) as http:
        health.refused("token_revoked")
        response = await http.get("/healthz")
        assert response.status == 503
        assert (await response.json())["ok"] is False and (await response.json())["slack_token"] == "token_revoked"
        health.ok()
        assert (await http.get("/healthz")).status == 200
