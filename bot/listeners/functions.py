"""The Workflow Builder step "Run a fan-out" (``function_executed``): inputs -> the same parser -> a run.

Bad input or a start that fails ends the step at once with ``fail(...)``. Otherwise the run reports in the
step's channel like any run, and its reporter completes the step when the run's result is in (an activity
on the steps queue: after a bot restart too). A step has no human starter: the channel allow-list applies
(FANOUT_ALLOWED_CHANNELS), the user allow-list and the per-user cap do not; its run may be cancelled by
FANOUT_ADMIN_USERS (or anyone, with FANOUT_CANCEL_POLICY=channel).
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.fail.async_fail import AsyncFail

from bot.language.grammar import ParseError, RunCommand
from bot.mrkdwn import mrkdwn_to_text
from bot.operations.operations import Operations
from bot.operations.permissions import direct_message

log = logging.getLogger("fanout.bot")


def register(app: AsyncApp) -> None:
    app.function("fanout_run")(run_a_fanout)  # the manifest's callback_id (tests/test_manifest.py reads it here)


def step_text(inputs: dict[str, Any]) -> str:
    """The /fanout text a step's inputs stand for."""
    parts = [str(inputs.get("values") or "").strip()]
    if str(inputs.get("fail_rule") or "").strip():
        parts.append(f"--fail {str(inputs['fail_rule']).strip()}")
    if inputs.get("retries") not in (None, "", 1, "1"):
        parts.append(f"--retries {inputs['retries']}")
    return " ".join(p for p in parts if p)


async def run_a_fanout(inputs: dict[str, Any], fail: AsyncFail, body: dict[str, Any], ops: Operations) -> None:
    event = body.get("event") or {}
    channel_id = str(inputs.get("channel_id") or "")
    if kind := direct_message(channel_id):
        await fail(f"/fanout runs in a channel, and the step's channel is {kind}: pick a channel @fanout is in.")
        return
    if ops.settings.allowed_channels and channel_id not in ops.settings.allowed_channels:
        await fail("/fanout is not enabled in that channel (FANOUT_ALLOWED_CHANNELS).")
        return
    text = step_text(inputs)
    parsed = ops.parse(text, ops.catalog(channel_id))
    if isinstance(parsed, ParseError) and parsed.field == "child":  # an event: there is time to read again
        parsed = ops.parse(text, await ops.fresh_catalog(channel_id))
    if isinstance(parsed, ParseError) or not isinstance(parsed, RunCommand):
        problem = parsed.problem if isinstance(parsed, ParseError) else "give values like 1-15"
        await fail(f"Cannot run a fan-out of {text!r}: {mrkdwn_to_text(problem, plain=True)}")
        return
    try:
        refused = await ops.steps.start(parsed, text=text, channel_id=channel_id,
                                        team_id=str(body.get("team_id") or ""),
                                        function_execution_id=str(event.get("function_execution_id")))
    except Exception as err:  # the boundary of this step: it fails, saying so, and the log has why
        log.exception("the step's run did not start")
        await fail(f"the run did not start ({type(err).__name__})")
        return
    if refused is not None:
        await fail(refused.plain)
