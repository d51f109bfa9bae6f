"""``python -m bot``: the Slack bot. Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT.

The process answers Slack (Bolt) and is the Temporal worker of its workspace's reporting (bot.workers).

``GET /healthz`` on HOST:PORT answers ``{"ok": ..., "mode": ..., "temporal": "connected"|"unreachable",
"workers": "running"|"waiting", "slack_token": "accepted"|"<error>"}`` in both modes (in Socket Mode the port
serves only that, plus ``"slack": "connected"|"disconnected"``). ``ok`` (HTTP 200) means the bot is up and
serving; Temporal being briefly down does not fail it (commands get a clear error meanwhile and reporting
waits in Temporal). A token Slack refuses (``invalid_auth``, ``token_revoked``) fails it (HTTP 503): nothing
can be reported until a valid token returns.

Start-up problems (a missing or malformed variable, a token Slack refuses, missing search attributes)
print one line and exit 2.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.app import Bot, build_bot
from bot.settings import Settings
from runtime.config import ConfigError
from runtime.logs import run_service
from runtime.temporal import TemporalUnavailable, describe, process_runtime

log = logging.getLogger("fanout.bot")
SlackState = Callable[[], Awaitable[bool]]


def health_handler(bot: Bot, mode: str, slack_state: SlackState | None = None
                   ) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def health(_: web.Request) -> web.Response:
        refused = bot.workers.health.auth_error
        body: dict[str, object] = {"ok": not refused, "mode": mode}
        body["temporal"] = "connected" if await bot.gateway.reachable() else "unreachable"
        body["workers"] = "running" if bot.workers.running else "waiting"
        body["slack_token"] = refused or "accepted"
        if slack_state is not None:
            body["slack"] = "connected" if await slack_state() else "disconnected"
        return web.json_response(body, status=503 if refused else 200)

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


async def serve_http(bot: Bot) -> web.AppRunner:
    settings = bot.settings
    web_app = bot.app.web_app(path="/slack/events", port=settings.port)
    web_app.router.add_get("/healthz", health_handler(bot, "http"))
    runner = await start_site(web_app, settings)
    log.info("HTTP mode: POST http://%s:%d/slack/events; health on /healthz", settings.host, settings.port)
    return runner


async def serve_health_only(bot: Bot, slack_state: SlackState) -> web.AppRunner | None:
    """Socket Mode needs no inbound port; serve /healthz anyway (container healthchecks), if the port is free."""
    web_app = web.Application()
    web_app.router.add_get("/healthz", health_handler(bot, "socket", slack_state))
    try:
        runner = await start_site(web_app, bot.settings)
    except ConfigError as err:
        log.warning("no health endpoint: %s", err)
        return None
    log.info("health on http://%s:%d/healthz", bot.settings.host, bot.settings.port)
    return runner


async def serve(settings: Settings) -> None:
    process_runtime(worker_heartbeats=False)  # before any client: nothing periodic beyond the long polls
    bot = await build_bot(settings)
    try:
        await bot.gateway.client()
    except TemporalUnavailable as err:  # it starts anyway: commands get a clear answer, workers connect when they can
        log.warning("%s; will connect when a command arrives", err)
    else:
        log.info("Temporal: %s", describe(bot.gateway.config))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    workers = asyncio.create_task(bot.workers.run(stop), name="workers")
    workers.add_done_callback(lambda _: stop.set())  # a worker failure (e.g. missing search attributes) stops the bot
    runner: web.AppRunner | None
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(bot.app, settings.slack_app_token)
        try:
            # The SDK's connect loop retries a refused token forever: ask for the first URL here, so
            # a bad token is a clear exit; the SDK connects to it and fetches later ones itself.
            opened = await bot.app.client.apps_connections_open(app_token=settings.slack_app_token)
        except SlackApiError as err:
            stop.set()
            await workers
            raise ConfigError(f"SLACK_APP_TOKEN was refused by Slack ({err.response.get('error')})") from None
        handler.client.wss_uri = str(opened["url"])
        await handler.connect_async()
        log.info("Socket Mode: connected")
        runner = await serve_health_only(bot, handler.client.is_connected)
        await stop.wait()
        await handler.close_async()
    else:
        runner = await serve_http(bot)
        await stop.wait()
    if runner is not None:
        await runner.cleanup()
    await workers  # raises what stopped them (ConfigError: one line, exit 2)
    log.info("bot stopped")


def main() -> None:
    run_service("bot", lambda: serve(Settings.from_env()))


if __name__ == "__main__":
    main()
