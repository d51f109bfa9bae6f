"""The run form's submission (view_submission): validated by the same parser as the slash command.

Bad input, and anything that keeps the run from starting (the user's cap, Temporal unreachable, a start
whose answer was lost), comes back inline on the form (``response_action: errors``): the modal stays open
with what was typed, and nothing starts. A form opened where no channel is known (a global shortcut, the
App Home) asks for one, so no answer ever needs a response_url: the form itself is where its private
errors go. The run id comes from the view's id, so a view submitted twice starts one run.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.language.grammar import ParseError, RunCommand
from bot.operations.operations import Operations
from bot.operations.permissions import Caller
from bot.operations.start import Invocation
from bot.render.form import CALLBACK_ID, CHANNEL, ERROR_MAX, VALUES, FormContext, inline_errors, submitted


def register(app: AsyncApp) -> None:
    app.view(CALLBACK_ID)(run_form_submitted)


async def run_form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], ops: Operations) -> None:
    form = FormContext.decode(view.get("private_metadata"))
    submission = submitted((view.get("state") or {}).get("values") or {})
    user = body.get("user") or {}
    caller = Caller(user_id=str(user.get("id", "")), team_id=str((body.get("team") or {}).get("id")
                                                                   or user.get("team_id") or ""),
                    channel_id=form.channel_id or submission.channel_id)
    parsed = submission.problem or ops.parse(submission.text, ops.catalog(caller.channel_id))
    if isinstance(parsed, ParseError):
        await ack(response_action="errors", errors=inline_errors(parsed, submission))
        return
    if not isinstance(parsed, RunCommand):
        await ack(response_action="errors", errors={VALUES: "Give values like 1-15, or pick a scenario."})
        return
    if problem := ops.refusal(caller):
        await ack(response_action="errors", errors={CHANNEL if not form.channel_id else VALUES: problem})
        return
    # The run id comes from the view (its submissions each bring a new trigger): submitted twice, one run.
    view_id = str(view.get("id") or body.get("trigger_id") or "")
    invocation = Invocation(user_id=caller.user_id, channel_id=caller.channel_id, text=submission.text,
                            team_id=caller.team_id, trigger_id=f"view:{view_id}", thread_ts=form.thread_ts)
    refused = await ops.runs.start(parsed.request, invocation)  # within the ack's 3 s (a 2.5 s budget)
    if refused is not None:
        await ack(response_action="errors", errors={VALUES: refused.plain[:ERROR_MAX]})
        return
    await ack()  # the modal closes; the run's message appears in its channel
