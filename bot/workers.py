"""The bot as a Temporal worker: its workflows (reporters, per-user quotas) and its Slack activities.

Every bot replica of a workspace runs the same workers on the same task queues (bot.queues): a
replica adds capacity, not load. Each Slack method group's queue carries Temporal's queue-wide rate
limit, the same on every replica, so together they stay inside Slack's budget. The bot makes no
periodic Temporal calls of its own: between runs its only traffic is its workers' long polls.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import RateLimit
from temporalio.api.workflowservice.v1 import UpdateTaskQueueConfigRequest
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bot import queues
from bot.home.daily_stats import DailyStatsWorkflow, record_stats
from bot.home.publish import HomeActivities
from bot.home.tab import HomeWorkflow
from bot.quota import UserRunsWorkflow
from bot.reporting.activities import SlackReport, pause_schedule
from bot.reporting.reporter import ReporterWorkflow
from bot.settings import Settings
from bot.slack.calls import SlackHealth
from bot.slack.clients import activity_client
from runtime.serving import ServedWorkers, unreachable

log = logging.getLogger("fanout.service")

BOT_WORKFLOWS = [ReporterWorkflow, UserRunsWorkflow, HomeWorkflow, DailyStatsWorkflow]
# The bot's workflows run sandboxed; only data types and the activity modules they name are passed through
# (their imports_passed_through blocks): workflow code itself is checked for non-determinism.
BOT_WORKFLOW_RUNNER = SandboxedWorkflowRunner(
    restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows.model", "bot.runs.info",
                                                                      "bot.reporting.payloads"))
SHUTDOWN_GRACE = timedelta(seconds=10)
# A replica that dies holds its cached workflows' next tasks on its sticky queue until this passes: short, so
# an Approve clicked just after a crash reaches a live replica in seconds (the SDK's default is 10 s).
STICKY_TIMEOUT = timedelta(seconds=2)


def build_workers(client: Client, settings: Settings, workflow_queue: str, report: SlackReport,
                  home: HomeActivities) -> list[Worker]:
    budget = settings.slack_budget

    def slack_queue(group: str, activities: list[Any], **options: Any) -> Worker:
        return Worker(client, task_queue=queues.activity_queue(workflow_queue, group), activities=activities,
                      max_task_queue_activities_per_second=budget.per_second(group),
                      max_concurrent_activity_task_polls=2, graceful_shutdown_timeout=SHUTDOWN_GRACE, **options)

    return [
        Worker(client, task_queue=workflow_queue, workflows=BOT_WORKFLOWS, workflow_runner=BOT_WORKFLOW_RUNNER,
               activities=[record_stats, pause_schedule], graceful_shutdown_timeout=SHUTDOWN_GRACE,
               sticky_queue_schedule_to_start_timeout=STICKY_TIMEOUT),
        slack_queue(queues.POSTS, [report.post_run_message, report.post_summary, report.notify_starter]),
        slack_queue(queues.EDITS, [report.edit_progress, report.final_edit]),
        slack_queue(queues.UPLOADS, [report.upload_timeline, report.upload_csv], max_concurrent_activities=2),
        slack_queue(queues.VIEWS, [home.publish_home]),
        slack_queue(queues.STEPS, [report.complete_step]),
    ]


async def pace_posts_per_channel(client: Client, posts_queue: str, per_minute: float) -> None:
    """Each channel's posts at Slack's pace: the posts queue's rate limit per fairness key (each post's channel),
    set in Temporal's TaskQueueConfig. Temporal keeps it (server-side, for every replica, across restarts); setting
    it again as each replica starts is harmless. A Temporal that does not offer it (an older server, a key without
    the permission) leaves the posts under the workspace budget alone, and the log says how to set it."""
    request = UpdateTaskQueueConfigRequest(
        namespace=client.namespace, identity=client.identity, task_queue=posts_queue,
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        update_fairness_key_rate_limit_default=UpdateTaskQueueConfigRequest.RateLimitUpdate(
            rate_limit=RateLimit(requests_per_second=per_minute / 60.0),
            reason="Slack: about one chat.postMessage per second per channel (fanout)"))
    try:
        await client.workflow_service.update_task_queue_config(request, timeout=timedelta(seconds=10))
    except RPCError as err:
        if unreachable(err):
            raise
        log.warning("posts are not paced per channel (%s: %s); set it with: temporal task-queue config set "
                    "--task-queue %s --task-queue-type activity --fairness-key-rps-limit-default %.3f",
                    err.status.name, err.message, posts_queue, per_minute / 60.0)
        return
    log.info("posts to each channel at most %.2f/s (queue %s)", per_minute / 60.0, posts_queue)


@dataclass
class BotWorkers:
    """Runs the bot's workers once Temporal can take them (the bot answers commands meanwhile)."""

    settings: Settings
    workflow_queue: str
    team_id: str
    connect: Any  # async () -> Client: the workers' client, with patient retries
    health: SlackHealth = field(default_factory=SlackHealth)
    _served: ServedWorkers | None = None

    @property
    def running(self) -> bool:
        return self._served is not None and self._served.running

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop``: start the workers whenever Temporal can take them (runtime.serving: ConfigError for a
        namespace that does not exist or lacks the search attributes), then serve. Workers finish their
        in-flight tasks on the way out."""
        slack = activity_client(self.settings.slack_bot_token, self.settings.slack_api_url)
        report = SlackReport(slack, self.health)
        home = HomeActivities(slack, self.health, self.settings.temporal_ui_url, self.settings.scenarios)

        def build(client: Client) -> list[Worker]:
            return build_workers(client, self.settings, self.workflow_queue, report, home)

        def running() -> None:
            log.info("bot workers on %s (+ .%s)", self.workflow_queue, ", .".join(queues.GROUPS))

        async def setup(client: Client) -> None:
            await pace_posts_per_channel(client, queues.activity_queue(self.workflow_queue, queues.POSTS),
                                         self.settings.slack_budget.posts_per_channel)

        self._served = ServedWorkers("the bot's workers", self.connect, build, running, setup)
        await self._served.serve(stop)
