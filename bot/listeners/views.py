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

from bot.language.grammar import ParseError, RunCommand, parse
from bot.listeners.common import Context, refusal
from bot.operations.start import Origin
from bot.render.form import CALLBACK_ID, CHANNEL, VALUES, FormContext, inline_errors, submitted


def register(app: AsyncApp, ctx: Context) -> None:
    @app.view(CALLBACK_ID)  # bot.render.form's modal
    async def run_form_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        form = FormContext.decode(view.get("private_metadata"))
        submission = submitted((view.get("state") or {}).get("values") or {})
        channel_id = form.channel_id or submission.channel_id
        user_id = str((body.get("user") or {}).get("id", ""))
        team_id = str((body.get("team") or {}).get("id") or (body.get("user") or {}).get("team_id") or "")
        parsed = submission.problem or parse(submission.text, max_values=ctx.settings.max_values,
                                             catalog=ctx.catalog(channel_id))
        if isinstance(parsed, ParseError):
            await ack(response_action="errors", errors=inline_errors(parsed, submission))
            return
        if not isinstance(parsed, RunCommand):
            await ack(response_action="errors", errors={VALUES: "Give values like 1-15, or pick a scenario."})
            return
        problem = refusal(ctx.settings, user_id, channel_id)
        if problem:
            await ack(response_action="errors", errors={CHANNEL if not form.channel_id else VALUES: problem})
            return
        # The run id comes from the view (its submissions each bring a new trigger): submitted twice, one run.
        view_id = str(view.get("id") or body.get("trigger_id") or "")
        origin = Origin(user_id=user_id, channel_id=channel_id, text=submission.text, team_id=team_id,
                        trigger_id=f"view:{view_id}", thread_ts=form.thread_ts)
        why_not = await ctx.ops.start_from_form(parsed.request, origin)  # within the ack's 3 s (2.5 s budget)
        if why_not:
            await ack(response_action="errors", errors={VALUES: why_not[:300]})
            return
        await ack()  # the modal closes; the run's message appears in its channel
