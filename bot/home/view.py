"""The App Home tab: a user's runs going, their recent runs, today's totals, and buttons to start one. Pure.

Built with slack_sdk's block and view models (``View.to_dict()`` validates), inside Slack's limits for a
Home tab: at most LISTED runs of each kind keeps it far under 100 blocks and 250 KB.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, HeaderBlock, PlainTextObject
from slack_sdk.models.views import View

from bot.catalog import LAB, Catalog
from bot.home.daily_stats import DayTotals
from bot.mrkdwn import channel, code, link, slack_date
from bot.render.blocks import actions, button, context, divider, format_duration, format_percent, progress_bar, section
from workflows.model import Progress

LISTED = 10  # runs of each kind on the tab
# The buttons that open the run form: "New run", and one per scenario. Slack refuses an actions block whose
# elements share an action_id (its reference: "unique among all other action_ids in the containing block"), so
# each has its own (a scenario's name is [a-z][a-z0-9_-]*, bot.language.scenario_file), and one listener matches
# them all.
NEW_RUN = "fanout_new_run"  # the value: a scenario's name, or "new"
NEW_RUN_ACTIONS = re.compile(r"^fanout_new_run(?::[a-z][a-z0-9_-]*)?$")  # Bolt matches with re.search


def scenario_action(name: str) -> str:
    return f"{NEW_RUN}:{name}"


STATUS_EMOJI = {"running": "🔄", "completed": "✅", "cancelled": "⏹", "terminated": "🛑", "timed_out": "⌛",
                "failed": "❌", "canceled": "⏹", "not_started": "🛑"}
HOW_TO = ("*How it works* — a run fans a parent workflow out to one child workflow per value, in parallel; "
          "some fail on purpose (even values, by default), and the parent gathers every outcome. Its message "
          "in the channel shows progress, and the summary follows in the thread. Type `/fanout help` in a "
          "channel for every option, or start one here.")


@dataclass(frozen=True)
class HomeRun:
    run_id: str
    channel_id: str
    status: str  # running | completed | cancelled | terminated | timed_out | failed | ...
    text: str  # the command text (user text: shown escaped)
    started: datetime
    progress: Progress | None = None
    success_rate: float | None = None
    wall_s: float | None = None
    thread_url: str = ""
    ui_url: str = ""


@dataclass(frozen=True)
class HomeData:
    user_id: str
    running: list[HomeRun]
    finished: list[HomeRun]
    today: DayTotals


def _buttons(catalog: Catalog) -> Block:
    return actions(button("New run", NEW_RUN, value="new", style="primary"),
                   *(button(f"Scenario: {s.name}", scenario_action(s.name), value=s.name)
                     for s in catalog.scenarios[:24]))


def _links(run: HomeRun) -> str:
    parts = [link(run.thread_url, "thread") if run.thread_url else "", link(run.ui_url, "Temporal UI")]
    return " · ".join(p for p in parts if p)


def _running(run: HomeRun) -> Block:
    head = (f"{STATUS_EMOJI['running']} {code(run.run_id, 60)} in {channel(run.channel_id)} · "
            f"{code('/fanout ' + run.text, 80)}")
    p = run.progress
    if p is None:
        state = "starting…" if run.status == "running" else "progress unavailable"
        return section(f"{head}\n{state} · {_links(run)}")
    bar = f"`{progress_bar(p.finished, p.total)}` *{p.finished:,}* of *{p.total:,}* done · {p.failed:,} failed"
    return section(f"{head}\n{bar} · {format_duration(p.elapsed_s)} · {_links(run)}")


def _finished(run: HomeRun) -> str:
    emoji = STATUS_EMOJI.get(run.status, "•")
    rate = f" · {format_percent(run.success_rate)} succeeded" if run.success_rate is not None else ""
    took = f" · {format_duration(run.wall_s)}" if run.wall_s is not None else ""
    return (f"{emoji} {code(run.run_id, 60)} {run.status.replace('_', ' ')}{rate}{took} · {channel(run.channel_id)}"
            f" · {slack_date(run.started.isoformat())} · {_links(run)}")


def home_view(data: HomeData, catalog: Catalog = LAB) -> dict[str, Any]:
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="/fanout")), section(HOW_TO), _buttons(catalog),
                           divider()]
    blocks.append(section(f"*Your runs going* · {len(data.running):,}" if data.running else
                          "*Your runs going* · none right now"))
    blocks += [_running(r) for r in data.running[:LISTED]]
    blocks.append(divider())
    if data.finished:
        lines = [_finished(r) for r in data.finished[:LISTED]]
        blocks.append(section("*Your recent runs*\n" + "\n".join(lines)))
    else:
        blocks.append(section("*Your recent runs* · none yet: start one above, or `/fanout 1 2 3 4 5` in a channel"))
    blocks.append(divider())
    t = data.today
    done = t.succeeded + t.failed
    totals = (f"*Today in this workspace* ({t.day}, UTC) · *{t.runs:,}* run{'s' if t.runs != 1 else ''} · "
              f"*{t.values:,}* values" + (f" · success rate *{format_percent(t.success_rate)}*" if done else ""))
    blocks.append(section(totals))
    blocks.append(context("Read from Temporal when you open this tab and when one of your runs finishes."))
    return View(type="home", blocks=blocks).to_dict()
