"""The bot assembled: the Bolt app (listeners by surface, bot.listeners), the command path to Temporal
(bot.operations) and the bot's workers (bot.workers), all for one Slack workspace.

Bolt verifies request signatures (HTTP mode), acks and routes; its client answers inside requests
only (Slack's 3 s), so it never sleeps on a 429. Everything posted after the ack is a reporting
activity, with its own client (bot.slack.clients.activity_client).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from bot import listeners
from bot.catalog import ServedChildTypes
from bot.operations.operations import Operations
from bot.operations.start import Deployment
from bot.queues import workflow_queue
from bot.settings import Settings
from bot.slack.clients import bolt_client, workspace_of
from bot.workers import BotWorkers
from runtime.temporal import TemporalGateway, connect


@dataclass
class Bot:
    app: AsyncApp
    settings: Settings
    gateway: TemporalGateway
    ops: Operations
    workers: BotWorkers
    team_id: str


async def build_bot(settings: Settings, *, gateway: TemporalGateway | None = None,
                    slack: AsyncWebClient | None = None,
                    worker_client: Callable[[], Awaitable[Client]] | None = None) -> Bot:
    slack = slack or bolt_client(settings.slack_bot_token, settings.slack_api_url)
    team_id = await workspace_of(slack)
    queue = workflow_queue(settings.environment, team_id)
    deployment = Deployment(queue, settings.task_queue, settings.temporal_ui_url, settings.progress_interval_s,
                            settings.max_runs_per_user)
    gateway = gateway or TemporalGateway()
    served = ServedChildTypes(gateway.client, settings.task_queue)
    served.child_types()  # the first read starts now, in the background
    ops = Operations(settings, gateway, deployment, served)
    app = AsyncApp(client=slack, signing_secret=settings.slack_signing_secret or None,
                   request_verification_enabled=not settings.socket_mode)
    listeners.register(app, ops)
    config = gateway.config

    async def patient_client() -> Client:
        return await connect(wait=True, config=config)

    workers = BotWorkers(settings, queue, team_id, connect=worker_client or patient_client)
    return Bot(app, settings, gateway, ops, workers, team_id)
