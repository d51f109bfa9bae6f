"""The App Home tab: each user's, published by a small workflow per user (``HomeWorkflow``,
``<bot queue>.home-of.<user>``), read from Temporal alone.

It publishes when asked: when the user opens the tab (``app_home_opened``, a signal-with-start from the bot,
``ask_to_publish``) and when one of their runs finishes (a signal from its reporter). Requests coalesce —
while a publish is pending, more requests only mark the tab stale, so a user gets one ``views.publish`` per
burst — and publishes run on the views queue, inside Slack's Tier 4 with every other replica's. The workflow
ends after an idle hour. What the tab shows is read when it is published (bot.home.publish) and drawn by
bot.home.view.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy, WorkflowIDConflictPolicy

with workflow.unsafe.imports_passed_through():
    from bot import queues
    from runtime.temporal import RPC_TIMEOUT

IDLE = timedelta(hours=1)


@dataclass
class HomeUser:
    team_id: str
    user_id: str


def home_id(workflow_queue: str, user_id: str) -> str:
    return f"{workflow_queue}.home-of.{user_id}"


async def ask_to_publish(client: Client, workflow_queue: str, user: HomeUser) -> None:
    """Ask the user's HomeWorkflow to publish their tab, starting it if it is not running (signal-with-start)."""
    await client.start_workflow(HomeWorkflow.run, user, id=home_id(workflow_queue, user.user_id),
                                task_queue=workflow_queue, start_signal="refresh",
                                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING, rpc_timeout=RPC_TIMEOUT)


@workflow.defn
class HomeWorkflow:
    @workflow.init
    def __init__(self, user: HomeUser) -> None:
        self._stale = True  # being started is a request to publish

    @workflow.run
    async def run(self, user: HomeUser) -> None:
        while True:
            try:
                await workflow.wait_condition(lambda: self._stale, timeout=IDLE)
            except TimeoutError:
                await workflow.wait_condition(workflow.all_handlers_finished)
                if not self._stale:
                    return
            self._stale = False
            await workflow.execute_activity(
                "publish_home", user, task_queue=queues.activity_queue(workflow.info().task_queue, queues.VIEWS),
                start_to_close_timeout=timedelta(seconds=20), schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=10)))
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(user)

    @workflow.signal
    def refresh(self) -> None:
        self._stale = True
