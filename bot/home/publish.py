"""Publishing a user's App Home tab (bot.home.tab asks for it): ``publish_home`` runs on the views queue (Slack's
views.publish, Tier 4, budgeted queue-wide like every Slack call) and reads everything it shows from Temporal
when it runs: the user's runs from visibility (the reporters' search attributes and memo), their progress
from the runs' queries, and today's totals (bot.home.daily_stats).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import timedelta

from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.service import RPCError

from bot import queues
from bot.catalog import SCENARIOS, Catalog, Scenario
from bot.home.daily_stats import today
from bot.home.tab import HomeUser
from bot.home.view import LISTED, HomeData, HomeRun, home_view
from bot.runs.info import run_id_of, ui_url
from bot.slack.calls import SlackHealth, call
from runtime import search_attributes as sa
from workflows.model import Progress

log = logging.getLogger("fanout.home")
QUERY_TIMEOUT = timedelta(seconds=3)


class HomeActivities:
    def __init__(self, slack: AsyncWebClient, health: SlackHealth, ui_base: str,
                 scenarios: tuple[Scenario, ...] = ()) -> None:
        self.slack = slack
        self.health = health
        self.ui_base = ui_base
        # The Home has no channel: its buttons offer the scenarios that are offered everywhere.
        self.catalog = Catalog(SCENARIOS + scenarios).for_channel("")
        self._workspace_url = ""

    @activity.defn
    async def publish_home(self, user: HomeUser) -> None:
        client = activity.client()
        base = activity.info().task_queue.removesuffix(f".{queues.VIEWS}")
        running, finished, totals = await asyncio.gather(
            self._runs(client, base, user, running=True), self._runs(client, base, user, running=False),
            today(client, base))
        progress = await progress_of(client, [r.run_id for r in running])
        data = HomeData(user.user_id, [replace(r, progress=progress.get(r.run_id)) for r in running], finished,
                        totals)
        await call(self.health, "the Home tab", self.slack.views_publish, user_id=user.user_id,
                   view=home_view(data, self.catalog))

    async def _runs(self, client: Client, base: str, user: HomeUser, *, running: bool) -> list[HomeRun]:
        if not (sa.is_slack_id(user.team_id) and sa.is_slack_id(user.user_id)) or "'" in base:
            return []
        # A run is going until its reporter records how it ended (FanoutStatus), before the summary and files.
        query = (f"WorkflowType = 'ReporterWorkflow' AND TaskQueue = '{base}' AND {sa.TEAM.name} = '{user.team_id}' "
                 f"AND {sa.USER.name} = '{user.user_id}' AND {sa.STATUS.name} {'=' if running else '!='} 'running'")
        workspace = await self._workspace()
        runs: list[HomeRun] = []
        async for wf in client.list_workflows(query, limit=LISTED, rpc_timeout=QUERY_TIMEOUT):
            memo = await wf.memo()
            run_id = run_id_of(wf.id)
            thread = str(memo.get("slack_thread_ts") or "")
            channel_id = str(memo.get("slack_channel", ""))
            runs.append(HomeRun(
                run_id=run_id, channel_id=channel_id,
                status=wf.typed_search_attributes.get(sa.STATUS) or ("running" if running else "completed"),
                text=str(memo.get("command_text", "")), started=wf.start_time,
                success_rate=float(memo["success_rate"]) if "success_rate" in memo else None,
                wall_s=float(memo["wall_s"]) if "wall_s" in memo else None,
                thread_url=f"{workspace}archives/{channel_id}/p{thread.replace('.', '')}" if workspace and thread
                else "",
                ui_url=ui_url(self.ui_base, client.namespace, run_id),
            ))
        return runs

    async def _workspace(self) -> str:
        """The workspace's URL (auth.test, asked once), for links to threads."""
        if not self._workspace_url:
            response = await call(self.health, "auth.test", self.slack.auth_test)
            self._workspace_url = str(response.get("url") or "")
        return self._workspace_url


async def progress_of(client: Client, run_ids: list[str]) -> dict[str, Progress]:
    """The progress of each running run (of those that answer in time)."""

    async def one(run_id: str) -> tuple[str, Progress | None]:
        try:
            return run_id, await client.get_workflow_handle(run_id).query(
                "progress", result_type=Progress, rpc_timeout=QUERY_TIMEOUT)
        # No worker answering right now: the tab shows the run without its progress.
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            log.debug("progress of %s for the Home tab: %s", run_id, err)
            return run_id, None

    answers = await asyncio.gather(*(one(r) for r in run_ids))
    return {run_id: p for run_id, p in answers if p is not None}
