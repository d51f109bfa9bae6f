"""``python -m bot``: the Slack bot. Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT.

``GET /healthz`` on HOST:PORT answers ``200 {"ok": true, "mode": ..., "temporal": "connected"|"unreachable"}``
in both modes (in Socket Mode the port serves only that). ``ok`` means the bot process is up and serving;
Temporal being briefly down does not fail it (the bot answers commands with a clear error meanwhile),
it is reported in ``temporal``. In Socket Mode the body also has ``"slack": "connected"|"disconnected"``.

Start-up problems (a missing or malformed variable, a token Slack refuses) print one line and exit 2.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import build_app
from bot.config import ConfigError, Settings
from bot.logs import run_service
from bot.recovery import Recovery
from bot.temporal import TemporalGateway, describe

log = logging.getLogger("fanout.bot")
SlackState = Callable[[], Awaitable[bool]]


async def check_slack_token(app: AsyncApp) -> None:
    """Bolt does not verify the token at start; fail fast here instead of at the first command."""
    try:
        await app.client.auth_test()
    except SlackApiError as err:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({err.response.get('error')})") from None
    except (SlackClientError, OSError) as err:
        raise ConfigError(f"cannot reach the Slack API at SLACK_API_URL ({err})") from None


def health_handler(
    gateway: TemporalGateway, mode: str, slack_state: SlackState | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def health(_: web.Request) -> web.Response:
        body: dict[str, object] = {"ok": True, "mode": mode}
        body["temporal"] = "connected" if await gateway.reachable() else "unreachable"
        if slack_state is not None:
            body["slack"] = "connected" if await slack_state() else "disconnected"
        return web.json_response(body)

    return health


async def start_site(web_app: web.Application, settings: Settings) -> web.AppRunner:
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
    except OSError as err:
        await runner.cleanup()
        raise ConfigError(f"cannot listen on {settings.host}:{settings.port} (HOST/PORT): {err.strerror}") from None
    return runner


async def serve_http(app: AsyncApp, settings: Settings, gateway: TemporalGateway) -> web.AppRunner:
    web_app = app.web_app(path="/slack/events", port=settings.port)
    web_app.router.add_get("/healthz", health_handler(gateway, "http"))
    runner = await start_site(web_app, settings)
    log.info("HTTP mode: POST http://%s:%d/slack/events; health on /healthz", settings.host, settings.port)
    return runner


async def serve_health_only(
    settings: Settings, gateway: TemporalGateway, slack_state: SlackState
) -> web.AppRunner | None:
    """Socket Mode needs no inbound port; serve /healthz anyway (container healthchecks), if the port is free."""
    web_app = web.Application()
    web_app.router.add_get("/healthz", health_handler(gateway, "socket", slack_state))
    try:
        runner = await start_site(web_app, settings)
    except ConfigError as err:
        log.warning("no health endpoint: %s", err)
        return None
    log.info("health on http://%s:%d/healthz", settings.host, settings.port)
    return runner


async def serve(settings: Settings) -> None:
    gateway = TemporalGateway()
    app = build_app(settings, gateway)
    await check_slack_token(app)
    try:
        await gateway.client()
    except Exception as err:  # the bot starts anyway and connects on the first command
        log.warning("%s; will connect when a command arrives", err)
    else:
        log.info("Temporal: %s", describe(gateway.config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Runs started by another replica, or before a restart, are found in Temporal and reported once.
    recovery = asyncio.create_task(
        Recovery(settings, gateway, app.fanout_state["reporter"]).run(stop),  # type: ignore[attr-defined]
        name="recovery",
    )
    runner: web.AppRunner | None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, settings.slack_app_token)
        try:
            # The SDK's connect loop retries a refused token forever: ask for the first URL here, so
            # a bad token is a clear exit; the SDK connects to it and fetches later ones itself.
            opened = await app.client.apps_connections_open(app_token=settings.slack_app_token)
        except SlackApiError as err:
            raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({err.response.get('error')})") from None
        handler.client.wss_uri = str(opened["url"])
        await handler.connect_async()
        log.info("Socket Mode: connected")
        runner = await serve_health_only(settings, gateway, handler.client.is_connected)
        await stop.wait()
        await handler.close_async()
    else:
        runner = await serve_http(app, settings, gateway)
        await stop.wait()
    if runner is not None:
        await runner.cleanup()
    await recovery
    log.info("shutting down: letting in-flight messages post")
    await app.fanout_state["reporter"].drain(timeout_s=5)  # type: ignore[attr-defined]
    log.info("bot stopped")


def main() -> None:
    run_service("bot", lambda: serve(Settings.from_env()))


if __name__ == "__main__":
    main()
