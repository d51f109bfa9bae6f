"""``python -m bot``: the Slack bot. Socket Mode when SLACK_APP_TOKEN is set, else HTTP on PORT.

Start-up problems (a missing variable, a token Slack refuses) print one line and exit 2.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.app import build_app
from bot.config import ConfigError, Settings, load_dotenv_once
from bot.temporal import TemporalGateway

log = logging.getLogger("fanout.bot")


async def check_slack_token(app: AsyncApp) -> None:
    """Bolt does not verify the token at start; fail fast here instead of at the first command."""
    try:
        await app.client.auth_test()
    except SlackApiError as err:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({err.response.get('error')})") from None
    except (SlackClientError, OSError) as err:
        raise ConfigError(f"cannot reach the Slack API at SLACK_API_URL ({err})") from None


async def serve_http(app: AsyncApp, settings: Settings) -> web.AppRunner:
    web_app = app.web_app(path="/slack/events", port=settings.port)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app.router.add_get("/healthz", health)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, settings.host, settings.port).start()
    log.info("HTTP mode: POST http://%s:%d/slack/events", settings.host, settings.port)
    return runner


async def serve(settings: Settings) -> None:
    gateway = TemporalGateway()
    app = build_app(settings, gateway)
    await check_slack_token(app)
    try:
        await gateway.client()
    except Exception as err:  # the bot starts anyway and connects on the first command
        log.warning("%s; will connect when a command arrives", err)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        handler = AsyncSocketModeHandler(app, settings.slack_app_token)
        await handler.connect_async()
        log.info("Socket Mode: connected")
        await stop.wait()
        await handler.close_async()
    else:
        runner = await serve_http(app, settings)
        await stop.wait()
        await runner.cleanup()
    log.info("shutting down: letting in-flight messages post")
    await app.fanout_state["reporter"].drain(timeout_s=5)  # type: ignore[attr-defined]


def main() -> None:
    load_dotenv_once()
    try:
        settings = Settings.from_env()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        asyncio.run(serve(settings))
    except ConfigError as err:
        print(f"bot: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
