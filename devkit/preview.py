"""``python -m devkit.preview``: what the bot shows, without installing the app — a Block Kit Builder link for
each surface (the run message, its summary, its Details modal and a child's story, the help, the run form, the App
Home), carrying the real view built by the bot's own code from the lab's run (``/fanout 1 2 3 4 5``)."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from bot.details.ended import ended_children
from bot.files.timeline import text_timeline
from bot.home.daily_stats import DayTotals
from bot.home.view import HomeData, HomeRun, home_view
from bot.language.help import help_text
from bot.render.details import (
    TIMELINE_WIDTH,
    Counts,
    Place,
    RunHeader,
    RunPage,
    Story,
    StoryAttempt,
    run_view,
    story_view,
)
from bot.render.form import FormContext, run_form
from bot.render.replies import help_message
from bot.render.run import run_message, summary_message
from bot.runs.info import RunInfo, ui_url
from bot.settings import DEFAULT_UI_URL
from workflows.model import (
    ChildSpan,
    FailedChild,
    FanoutRequest,
    FanoutResult,
    Progress,
    SuccessfulResult,
    ValueRange,
)

BUILDER = "https://app.slack.com/block-kit-builder#"
RUN = RunInfo(workflow_id="fanout-1a2b3c4d5e6f", user_id="U0123ABCD", channel_id="C0123ABCD", text="1 2 3 4 5",
              value_count=5, batch_size=1, child_workflow_count=5,
              ui_url=ui_url(DEFAULT_UI_URL, "default", "fanout-1a2b3c4d5e6f"), thread_ts="1765000000.000100",
              message_ts="1765000000.000100",
              team_id="T0123ABCD")
RESULT = FanoutResult(
    total_children=5, successful_results=[SuccessfulResult(v, v * 2) for v in (1, 3, 5)],
    failed_children=[FailedChild(v, f"Simulated failure for value {v}", "ApplicationError", 1, "SimulatedFailure")
                     for v in (2, 4)],
    success_count=3, failure_count=2, success_rate=0.6, wall_s=0.41, child_s_sum=1.6, child_workflow_count=5,
    failure_groups={"SimulatedFailure": 2},
    spans=[ChildSpan(i, 20, 340 + 10 * i, "failed" if i % 2 else "succeeded") for i in range(5)])
REQUEST = FanoutRequest([ValueRange(1, 5)])


def details() -> tuple[dict[str, Any], dict[str, Any]]:
    """The lab's run in its Details modal, and the story of its child for value 2."""
    place = Place(RUN.workflow_id, RUN.channel_id)
    header = RunHeader(RUN, "Completed", live=False, started_at="2026-12-02T09:00:00+00:00", wall_s=RESULT.wall_s,
                       request=REQUEST, child_workflows=5, counts=Counts(5, 3, 2))
    page = RunPage(header, ended_children(asdict(RESULT), REQUEST.ranges, place),
                   text_timeline(RESULT, REQUEST.ranges, TIMELINE_WIDTH))
    story = Story(RUN.workflow_id, f"{RUN.workflow_id}-c1", "2", final="failed on attempt 1: it has no retries",
                  attempts=[StoryAttempt(1, 0.02, 0.33, "failed", "SimulatedFailure", "Simulated failure for value 2")])
    return run_view(page, place), story_view(story, Place(RUN.workflow_id, RUN.channel_id, child=1))


def surfaces() -> dict[str, dict[str, Any]]:
    """Each surface as Block Kit Builder takes it: ``{"blocks": [...]}`` for messages, the view for the rest."""
    going = Progress(total=5, succeeded=2, failed=1, running=2, elapsed_s=0.3)
    started = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    home = HomeData("U0123ABCD",
                    running=[HomeRun("fanout-7a8b9c0d1e2f", "C0123ABCD", "running", "1-100 --delay 1-5", started,
                                     progress=going, ui_url=RUN.ui_url)],
                    finished=[HomeRun(RUN.workflow_id, "C0123ABCD", "completed", RUN.text, started, success_rate=0.6,
                                      wall_s=0.41, ui_url=RUN.ui_url)],
                    today=DayTotals("2026-12-02", runs=12, values=3400, succeeded=2000, failed=1400))
    modal, story = details()
    return {
        "run message": {"blocks": run_message(RUN, going).blocks},
        "summary": {"blocks": summary_message(RUN, RESULT).blocks},
        "details": modal,
        "a child's story": story,
        "help": {"blocks": help_message(help_text()).blocks},
        "form": run_form(context=FormContext(channel_id="C0123ABCD")),
        "home": home_view(home),
    }


def builder_link(surface: dict[str, Any]) -> str:
    return BUILDER + quote(json.dumps(surface, separators=(",", ":")), safe="")


def main() -> None:
    for name, surface in surfaces().items():
        print(f"{name}:\n  {builder_link(surface)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
