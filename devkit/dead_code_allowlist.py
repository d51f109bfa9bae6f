"""What vulture (make lint's dead-code check) cannot see used: names Temporal, Bolt, slack_sdk or pytest reach by
name or by decorator, and dataclass fields that travel as payloads, memo or metadata (the lab's documented result
among them: never delete those). Listing them here is what vulture counts as a use; nothing imports this module."""

import logging

from slack_sdk.socket_mode.aiohttp import SocketModeClient

from bot.home.tab import HomeWorkflow
from bot.queues import SlackBudget
from bot.reporting.reporter import ReporterWorkflow
from devkit.fake_slack.limits import SlackLimits
from workflows.model import FanoutResult
from workflows.parent import ParentWorkflow

__all__ = ["USED_BY_NAME"]

USED_BY_NAME = [
    # Signal, query and update handlers and validators: Temporal calls them by name.
    HomeWorkflow.refresh, ParentWorkflow.request_cancel, ParentWorkflow.batch_progress, ParentWorkflow.shard_progress,
    ReporterWorkflow._cancel_allowed,
    # Read with getattr() by group name: SlackBudget.per_second(), SlackLimits.per_minute().
    SlackBudget.posts, SlackBudget.edits, SlackBudget.uploads,
    SlackLimits.post_workspace_per_minute, SlackLimits.ephemeral_per_minute, SlackLimits.files_per_minute,
    SlackLimits.views_per_minute, SlackLimits.conversations_open_per_minute, SlackLimits.users_info_per_minute,
    SlackLimits.functions_per_minute,
    # The lab's result structure (workflows.model.FanoutResult), read by whoever starts a run.
    FanoutResult.shard_count,
    # Attributes set on library objects for the library to read.
    SocketModeClient.wss_uri, logging.LogRecord.msg,
]
