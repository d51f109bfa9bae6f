"""The bot's task queues: one for its workflows, one per Slack method group, each with its budget.

Names come from the environment name (FANOUT_ENV) and the Slack workspace (``team_id`` from
``auth.test``), so a staging bot, the ``make dev`` console and production can share a Temporal
namespace without taking each other's work. Every bot replica of one workspace polls the same
queues; Temporal hands each task to one of them.

Each Slack method group gets its own activity task queue with Temporal's server-side, queue-wide
rate limit (``max_task_queue_activities_per_second``), set the same by every replica at about 80 %
of Slack's published rate: the workspace's budget is kept however many replicas run.

Posts have a second limit: Slack allows about one chat.postMessage per second *per channel*. Each post
carries its channel as its fairness key (bot.reporting.reporter), and the posts queue has a rate limit per
fairness key (its TaskQueueConfig, set by the bot as it starts: bot.workers). Temporal keeps it on the
server, for every replica and across restarts; with fairness on in matching, a busy channel's backlog
waits its turn without holding up the other channels' posts.
Pure: the reporter workflow derives its activity queues from its own task queue with ``activity_queue``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

POSTS = "posts"  # chat.postMessage (run messages, summaries, direct messages): the workspace cap
EDITS = "edits"  # chat.update: Tier 3, 50/min
UPLOADS = "uploads"  # files.getUploadURLExternal + files.completeUploadExternal: one of each per upload
VIEWS = "views"  # views.publish (App Home): Tier 4
STEPS = "steps"  # functions.completeSuccess / completeError (Workflow Builder steps)
GROUPS = (POSTS, EDITS, UPLOADS, VIEWS, STEPS)

# Slack's published rates per minute and per workspace, and the share of them we use. Each files method is
# Tier 4 (100+/min) on its own, and an upload calls each once: 100 uploads a minute.
SLACK_PER_MINUTE = {POSTS: 300, EDITS: 50, UPLOADS: 100, VIEWS: 100, STEPS: 50}
SHARE = 0.8
# Posts per minute to one channel: Slack's ~1/s, at 90 %. Temporal's limiter lets 2 go at once after a quiet
# spell and then one per interval; at 0.9/s that stays within 10 posts in any 10 s.
POSTS_PER_CHANNEL_PER_MINUTE = 54.0

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def workflow_queue(environment: str, team_id: str) -> str:
    """The bot's own queue (its workflows and their non-Slack activities) in this workspace."""
    return f"fanout-slack.{_UNSAFE.sub('_', environment)}.{_UNSAFE.sub('_', team_id) or 'unknown'}"


def activity_queue(workflow_task_queue: str, group: str) -> str:
    """The activity queue of one Slack method group, next to the bot's workflow queue."""
    return f"{workflow_task_queue}.{group}"


def default_per_minute(group: str) -> float:
    return SLACK_PER_MINUTE[group] * SHARE


@dataclass(frozen=True)
class SlackBudget:
    """Activities per minute on each Slack queue (FANOUT_SLACK_*_PER_MINUTE); the same on every replica."""

    posts: float = default_per_minute(POSTS)
    edits: float = default_per_minute(EDITS)
    uploads: float = default_per_minute(UPLOADS)
    views: float = default_per_minute(VIEWS)
    steps: float = default_per_minute(STEPS)
    posts_per_channel: float = POSTS_PER_CHANNEL_PER_MINUTE  # FANOUT_SLACK_POSTS_PER_CHANNEL_PER_MINUTE

    def per_second(self, group: str) -> float:
        return float(getattr(self, group)) / 60.0
