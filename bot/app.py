"""The bot assembled: the Bolt app (listeners by surface, bot.listeners), the command path to Temporal
(bot.operations) and the bot's workers (bot.service), all for one Slack workspace.

Bolt verifies request signatures (HTTP mode), acks and routes; its client answers inside requests
only (Slack's 3 s), so it never sleeps on a 429. Everything posted after the ack is a reporting
activity, with its own client (bot.service.activity_slack_client).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from bot.child_types import ServedChildTypes
from bot.listeners import register_listeners
from bot.listeners.common import Context
from bot.operations import Operations
from bot.queues import workflow_queue
from bot.service import BotWorkers
from bot.settings import Settings
from bot.start import Where
from bot.waiting import Waiting
from runtime.config import ConfigError
from runtime.temporal import TemporalGateway, connect


def slack_client(settings: Settings) -> AsyncWebClient:
    return AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url,
                          retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)])


async def workspace_of(slack: AsyncWebClient) -> str:
    """The workspace (team id) the token belongs to. Bolt does not verify the token at start: fail fast
    here instead of at the first command."""
    try:
        response = await slack.auth_test()
    except SlackApiError as err:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({err.response.get('error')})") from None
    except (SlackClientError, OSError) as err:
        raise ConfigError(f"cannot reach the Slack API at SLACK_API_URL ({err})") from None
    return str(response.get("team_id") or "")


@dataclass
class Bot:
    app: AsyncApp
    settings: Settings
    gateway: TemporalGateway
    ops: Operations
    workers: BotWorkers
    team_id: str
    child_types: ServedChildTypes


async def build_bot(settings: Settings, *, gateway: TemporalGateway | None = None,
                    slack: AsyncWebClient | None = None,
                    worker_client: Callable[[], Awaitable[Client]] | None = None) -> Bot:
    slack = slack or slack_client(settings)
    team_id = await workspace_of(slack)
    queue = workflow_queue(settings.environment, team_id)
    where = Where(queue, settings.task_queue, settings.temporal_ui_url, settings.progress_interval_s,
                  settings.max_runs_per_user)
    gateway = gateway or TemporalGateway()
    ops = Operations(settings, gateway, where)
    app = AsyncApp(client=slack, signing_secret=settings.slack_signing_secret or None,
                   request_verification_enabled=not settings.socket_mode)
    served = ServedChildTypes(gateway.client, settings.task_queue)
    served.child_types()  # the first read starts now, in the background
    register_listeners(app, Context(settings, ops, Waiting(ops), served))
    config = gateway.config

    async def patient_client() -> Client:
        return await connect(wait=True, config=config)

    workers = BotWorkers(settings, queue, team_id, connect=worker_client or patient_client)
    return Bot(app, settings, gateway, ops, workers, team_id, served)
