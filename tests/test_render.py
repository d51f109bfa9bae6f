"""bot.render.run and bot.render.replies: run state -> Slack messages, within Slack's limits, with all outside text
escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.operations.schedules import ScheduleListing
from bot.render.replies import error_message, help_message, list_message, schedules_message, status_message
from bot.render.run import (
    Message,
    escape,
    failure_kind,
    format_duration,
    format_percent,
    progress_bar,
    run_message,
    summary_message,
    timing_line,
)
from bot.runs.info import RunInfo
from bot.runs.lookup import RunListing
from workflows.model import ChildSpan, FailedChild, FanoutResult, Progress, SuccessfulResult

UI = "http://localhost:8233/namespaces/default/workflows/fanout-abc"
TEXT_TYPES = {"mrkdwn", "plain_text"}
BLOCK_TYPES = {"section", "context", "actions", "divider", "header"}


# ---------------------------------------------------------------- helpers


def make_run(**overrides: Any) -> RunInfo:
    fields: dict[str, Any] = {
        "workflow_id": "fanout-abc",
        "user_id": "U123ABC",
        "channel_id": "C42",
        "text": "1-5 fail:even",
        "value_count": 5,
        "batch_size": 1,
        "child_workflow_count": 5,
        "ui_url": UI,
    }
    fields.update(overrides)
    return RunInfo(**fields)


def lab_result(**overrides: Any) -> FanoutResult:
    """The lab's run: values 1..5, even values fail."""
    fields: dict[str, Any] = {
        "total_children": 5,
        "successful_results": [SuccessfulResult(1, 2), SuccessfulResult(3, 6), SuccessfulResult(5, 10)],
        "failed_children": [
            FailedChild(2, "Simulated failure for value 2"),
            FailedChild(4, "Simulated failure for value 4"),
        ],
        "success_count": 3,
        "failure_count": 2,
        "success_rate": 0.6,
        "child_workflow_count": 5,
        "wall_s": 1.2,
        "child_s_sum": 3.9,
        "failure_groups": {"SimulatedFailure": 2},
    }
    fields.update(overrides)
    return FanoutResult(**fields)


def text_objects(node: object) -> list[str]:
    """Every text object's text, anywhere in a block tree."""
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in TEXT_TYPES and isinstance(node.get("text"), str):
            found.append(node["text"])
        for key, value in node.items():
            if not (key == "text" and isinstance(value, str)):
                found += text_objects(value)
    elif isinstance(node, list):
        for value in node:
            found += text_objects(value)
    return found


def all_text(message: Message) -> str:
    return "\n".join(text_objects(message.blocks))


def buttons(message: Message) -> dict[str, dict[str, Any]]:
    return {el["action_id"]: el for b in message.blocks if b["type"] == "actions" for el in b["elements"]}


def assert_valid(message: Message) -> None:
    """Walk every block: known types, well-formed, and within every limit."""
    assert isinstance(message.text, str) and 0 < len(message.text) <= 3000
    assert len(message.blocks) <= 50
    for block in message.blocks:
        assert block["type"] in BLOCK_TYPES, block
        if block["type"] == "section":
            assert block["text"]["type"] in TEXT_TYPES
            assert 0 < len(block["text"]["text"]) <= 3000
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            for el in block["elements"]:
                assert el["type"] in TEXT_TYPES and len(el["text"]) <= 3000
        elif block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for el in block["elements"]:
                assert el["type"] == "button"
                assert el["text"]["type"] == "plain_text" and len(el["text"]["text"]) <= 75
                assert el["action_id"].startswith("fanout_")
                assert "value" in el or "url" in el
        elif block["type"] == "header":
            assert block["text"]["type"] == "plain_text" and len(block["text"]["text"]) <= 150
        elif block["type"] == "divider":
            assert set(block) <= {"type", "block_id"}
    assert sum(len(t) for t in text_objects(message.blocks)) <= 12000
    if message.metadata is not None:
        assert set(message.metadata) == {"event_type", "event_payload"}
        for value in message.metadata["event_payload"].values():
            assert isinstance(value, str | int | float | bool)


def more_counts(text: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"…and ([\d,]+) more", text)]


# ---------------------------------------------------------------- small formatters


def test_escape() -> None:
    assert escape("a & b <!channel> <@U1|x>") == "a &amp; b &lt;!channel&gt; &lt;@U1|x&gt;"
    assert escape("plain") == "plain"


@pytest.mark.parametrize(
    ("finished", "total", "width", "expected"),
    [
        (6, 10, 10, "▓▓▓▓▓▓░░░░ 60%"),
        (0, 10, 10, "░░░░░░░░░░ 0%"),
        (10, 10, 10, "▓▓▓▓▓▓▓▓▓▓ 100%"),
        (0, 0, 10, "░░░░░░░░░░ 0%"),  # total 0: no division by zero
        (5, 0, 4, "░░░░ 0%"),
        (15, 10, 10, "▓▓▓▓▓▓▓▓▓▓ 100%"),  # over 100% is clamped
        (-3, 10, 10, "░░░░░░░░░░ 0%"),
        (999, 1000, 10, "▓▓▓▓▓▓▓▓▓░ 99%"),  # only full when everything finished
    ],
)
def test_progress_bar(finished: int, total: int, width: int, expected: str) -> None:
    assert progress_bar(finished, total, width) == expected


def test_progress_bar_default_width() -> None:
    bar = progress_bar(1, 2)
    assert bar == "▓" * 10 + "░" * 10 + " 50%"


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0.0 s"),
        (0.2, "0.2 s"),
        (12.5, "12.5 s"),
        (59.9, "59.9 s"),
        (59.96, "1 min 00 s"),
        (184, "3 min 04 s"),
        (3599.4, "59 min 59 s"),
        (3720, "1 h 02 min"),
        (90000, "25 h 00 min"),
        (-5, "0.0 s"),
        (float("nan"), "0.0 s"),
    ],
)
def test_format_duration(seconds: float, expected: str) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("rate", "expected"),
    [(0.6, "60%"), (2 / 3, "66.7%"), (1.0, "100%"), (0.0, "0%"), (1 / 3, "33.3%"), (0.9999, ">99.9%"),
     (0.000001, "<0.1%")],
)
def test_format_percent(rate: float, expected: str) -> None:
    assert format_percent(rate) == expected


def test_failure_kind() -> None:
    assert failure_kind(FailedChild(2, "Simulated failure for value 2")) == "SimulatedFailure"
    assert failure_kind(FailedChild(7, "Random failure for value 7")) == "RandomFailure"
    assert failure_kind(FailedChild(9, "boom", type="TimeoutError")) == "TimeoutError"


# ---------------------------------------------------------------- summary_message


def test_summary_lab_result() -> None:
    message = summary_message(make_run(), lab_result())
    assert_valid(message)
    text = all_text(message)
    for expected in ("1 → 2", "3 → 6", "5 → 10", "Simulated failure for value 2", "Simulated failure for value 4",
                     "60%", "3 succeeded · 2 failed of 5", "*SimulatedFailure* · 2", "1.2 s", "⚠️"):
        assert expected in text, expected
    assert "…and" not in text  # everything fits
    assert "3.2× faster than one after another" in text  # 3.9 / 1.2 = 3.25
    assert message.text == "fanout-abc: 3/5 succeeded (60%), 2 failed, 1.2 s"
    assert message.metadata == {
        "event_type": "fanout_summary",
        "event_payload": {
            "workflow_id": "fanout-abc",
            "total_children": 5,
            "success_count": 3,
            "failure_count": 2,
            "success_rate": 0.6,
            "cancelled_count": 0,
            "status": "completed",
        },
    }
    retry = buttons(message)["fanout_retry"]
    assert retry["value"] == "fanout-abc" and retry["text"]["text"] == "Retry failed (2)"
    # A run too small for a timeline picture: its Details modal shows the timeline (no Timeline button any more).
    assert list(buttons(message)) == ["fanout_retry", "fanout_run_again", "fanout_edit_run", "fanout_details"]
    assert buttons(message)["fanout_details"]["value"] == "fanout-abc"
    # Successes come before failures.
    assert text.index("1 → 2") < text.index("Simulated failure for value 2")


def test_summary_all_succeeded() -> None:
    result = lab_result(
        successful_results=[SuccessfulResult(v, v * 2) for v in range(1, 6)],
        failed_children=[], success_count=5, failure_count=0, success_rate=1.0, failure_groups={},
    )
    message = summary_message(make_run(), result)
    assert_valid(message)
    text = all_text(message)
    assert "✅" in text and "All 5 succeeded" in text and "100%" in text
    assert "fanout_retry" not in buttons(message)
    assert "Failure" not in text and "failed of 5" not in text.replace("0 failed of 5", "")


def test_summary_all_failed() -> None:
    result = lab_result(
        successful_results=[], success_count=0, failure_count=5, success_rate=0.0,
        failed_children=[FailedChild(v, f"Simulated failure for value {v}") for v in range(1, 6)],
        failure_groups={"SimulatedFailure": 5},
    )
    message = summary_message(make_run(), result)
    assert_valid(message)
    text = all_text(message)
    assert "❌" in text and "All 5 failed" in text and "0%" in text
    assert "→" not in text and "Succeeded" not in text
    assert buttons(message)["fanout_retry"]["text"]["text"] == "Retry failed (5)"


def test_summary_cancelled_with_partial_results() -> None:
    result = lab_result(
        total_children=10, successful_results=[SuccessfulResult(1, 2)], success_count=1, failure_count=1,
        failed_children=[FailedChild(2, "Simulated failure for value 2")], success_rate=0.1,
        cancelled_count=8, status="cancelled", cancelled_by="U999", failure_groups={"SimulatedFailure": 1},
    )
    message = summary_message(make_run(value_count=10), result)
    assert_valid(message)
    text = all_text(message)
    assert "⏹" in text and "Cancelled by <@U999>" in text and "partial results follow" in text
    assert "8 cancelled" in text and "1 → 2" in text
    assert message.metadata is not None
    assert message.metadata["event_payload"]["status"] == "cancelled"
    assert message.metadata["event_payload"]["cancelled_count"] == 8
    assert "8 cancelled" in message.text


def test_summary_shows_attempts() -> None:
    result = lab_result(
        successful_results=[SuccessfulResult(1, 2, attempts=3), SuccessfulResult(3, 6), SuccessfulResult(5, 10)],
        failed_children=[FailedChild(2, "Simulated failure for value 2", attempts=4),
                         FailedChild(4, "Simulated failure for value 4")],
    )
    text = all_text(summary_message(make_run(max_attempts=4), result))
    assert "1 → 2 (3 attempts)" in text
    assert "3 → 6 (" not in text
    assert "Simulated failure for value 2 (4 attempts)" in text
    assert "Simulated failure for value 4 (" not in text


def test_summary_speedup_parallel_only() -> None:
    parallel = all_text(summary_message(make_run(), lab_result(wall_s=2.0, child_s_sum=10.0)))
    assert "5.0× faster than one after another" in parallel
    sequential = all_text(summary_message(make_run(sequential=True),
                                          lab_result(sequential=True, wall_s=10.0, child_s_sum=10.0)))
    assert "faster" not in sequential and "sequential" in sequential
    no_times = all_text(summary_message(make_run(), lab_result(wall_s=0.0, child_s_sum=0.0)))
    assert "faster" not in no_times


def test_summary_batched_sample_counts_more_from_true_totals() -> None:
    successes = [SuccessfulResult(v, v * 2) for v in range(1, 2001, 2)]  # a 1,000-entry sample
    failures = [FailedChild(v, f"Simulated failure for value {v}") for v in range(2, 2002, 2)]
    result = lab_result(
        total_children=1_000_000, successful_results=successes, failed_children=failures,
        success_count=600_000, failure_count=400_000, success_rate=0.6, batch_size=1000,
        child_workflow_count=1000, results_complete=False, failure_groups={"SimulatedFailure": 400_000},
    )
    message = summary_message(make_run(value_count=1_000_000, batch_size=1000, child_workflow_count=1000), result)
    assert_valid(message)
    text = all_text(message)
    shown_successes = len(re.findall(r"^\d+ → \d+", text, re.M))
    shown_failures = len(re.findall(r"^\d+: Simulated failure", text, re.M))
    assert 0 < shown_successes < 1000 and 0 < shown_failures < 1000
    assert more_counts(text) == [600_000 - shown_successes, 400_000 - shown_failures]
    assert f"…and {600_000 - shown_successes:,} more" in text
    assert "*SimulatedFailure* · 400,000" in text
    assert "600,000 succeeded · 400,000 failed of 1,000,000" in text
    assert "batches of 1,000" in text


def test_summary_groups_failures_by_kind() -> None:
    failures = [FailedChild(2, "Simulated failure for value 2"), FailedChild(3, "Random failure for value 3"),
                FailedChild(4, "Simulated failure for value 4"), FailedChild(5, "ValueError: bad", type="ValueError")]
    result = lab_result(
        total_children=10, failed_children=failures, failure_count=7, success_count=3, success_rate=0.3,
        results_complete=False, failure_groups={"SimulatedFailure": 4, "RandomFailure": 2, "ValueError": 1},
    )
    message = summary_message(make_run(value_count=10), result)
    assert_valid(message)
    sections = [b["text"]["text"] for b in message.blocks if b["type"] == "section"]
    simulated = next(s for s in sections if s.startswith("*SimulatedFailure* · 4"))
    assert "2: Simulated failure for value 2" in simulated and "4: Simulated failure for value 4" in simulated
    assert "…and 2 more" in simulated  # 4 in the group, 2 listed
    random_group = next(s for s in sections if s.startswith("*RandomFailure* · 2"))
    assert "3: Random failure for value 3" in random_group and "…and 1 more" in random_group
    value_error = next(s for s in sections if s.startswith("*ValueError* · 1"))
    assert "5: ValueError: bad" in value_error and "…and" not in value_error
    text = all_text(message)
    assert text.index("*SimulatedFailure*") < text.index("*RandomFailure*") < text.index("*ValueError*")


def test_summary_failures_without_groups_are_grouped_from_the_list() -> None:
    result = lab_result(failure_groups={})
    text = all_text(summary_message(make_run(), result))
    assert "*SimulatedFailure* · 2" in text


def test_summary_unlisted_failures_still_counted() -> None:
    result = lab_result(failed_children=[], failure_groups={}, results_complete=False)
    text = all_text(summary_message(make_run(), result))
    assert more_counts(text) == [2]


def test_summary_escapes_error_messages() -> None:
    failures = [FailedChild(2, "Simulated failure <!channel> & <@U1|x> <https://evil|click>"),
                FailedChild(4, "Simulated failure\nwith newline")]
    message = summary_message(make_run(), lab_result(failed_children=failures))
    text = all_text(message)
    assert "&lt;!channel&gt;" in text and "&amp;" in text and "&lt;@U1|x&gt;" in text
    assert "<!channel>" not in text and "<https://evil" not in text
    assert "4: Simulated failure with newline" in text


def test_the_slowest_child_is_named_as_everything_else_names_it() -> None:
    spans = [ChildSpan(i, 0, 100 + 10 * i * (i != 4), "failed" if i % 2 else "succeeded") for i in range(5)]
    assert "slowest 0.1 s (value 4)" in timing_line(lab_result(spans=spans))  # the fourth: value 4, failed
    spans[3] = ChildSpan(3, 0, 50, "failed")
    assert "slowest 0.1 s (value 3)" in timing_line(lab_result(spans=spans))  # the third: value 3, succeeded
    twice = lab_result(successful_results=[SuccessfulResult(1, 2), SuccessfulResult(1, 2), SuccessfulResult(5, 10)],
                       spans=[ChildSpan(0, 0, 10, "succeeded"), ChildSpan(1, 0, 90, "succeeded"),
                              ChildSpan(2, 0, 10, "succeeded")])
    assert "(value 1 #1)" in timing_line(twice)  # /fanout 1 1 5: which 1, by its position
    stopped = lab_result(spans=[ChildSpan(0, 0, 10, "succeeded"), ChildSpan(1, 0, 90, "cancelled")])
    assert "(#1)" in timing_line(stopped)  # a cancelled child's value is not in the result


def test_summary_million_values_within_limits() -> None:
    successes = [SuccessfulResult(v, v * 2, attempts=1 + v % 3) for v in range(1, 2001, 2)]
    failures = [FailedChild(v, f"Simulated failure for value {v} & <more>", attempts=2) for v in range(2, 2002, 2)]
    spans = [ChildSpan(i, i * 10, i * 10 + 500 + i, "mixed", values=1000) for i in range(1000)]
    result = FanoutResult(
        total_children=1_000_000, successful_results=successes, failed_children=failures, success_count=500_000,
        failure_count=500_000, success_rate=0.5, batch_size=1000, child_workflow_count=1000, wall_s=3723.0,
        child_s_sum=250_000.0, results_complete=False, failure_groups={"SimulatedFailure": 500_000}, spans=spans,
    )
    message = summary_message(make_run(value_count=1_000_000, batch_size=1000, child_workflow_count=1000), result)
    assert_valid(message)
    text = all_text(message)
    assert "1 h 02 min" in text and "67.2× faster" in text
    assert "slowest 1.5 s (batch 999)" in text
    assert len(more_counts(text)) == 2
    assert "Retry failed (500,000)" == buttons(message)["fanout_retry"]["text"]["text"]


def test_summary_huge_error_messages_within_limits() -> None:
    # Escaping grows text (& -> &amp;), so budget on escaped lengths: every list entry is clipped.
    failures = [FailedChild(v, "Simulated failure " + "&<>" * 2000, type="X") for v in range(1000)]
    groups = {f"Kind{i}": 1 for i in range(60)} | {"SimulatedFailure": 1000}
    result = lab_result(total_children=2000, failed_children=failures, failure_count=1060, success_count=940,
                        successful_results=[SuccessfulResult(v, v) for v in range(940)], success_rate=0.47,
                        failure_groups=groups, results_complete=False)
    message = summary_message(make_run(), result)
    assert_valid(message)
    text = all_text(message)
    assert "&amp;&lt;&gt;" in text
    assert not re.search(r"&(?!amp;|lt;|gt;)", text)  # no entity cut in half
    assert "other group" in text  # groups that don't fit are summarised, not dropped


@settings(max_examples=60, deadline=None)
@given(
    errors=st.lists(st.text(max_size=600), max_size=80),
    successes=st.integers(min_value=0, max_value=10**6),
    extra_failures=st.integers(min_value=0, max_value=10**6),
    kinds=st.dictionaries(st.text(min_size=1, max_size=40), st.integers(min_value=1, max_value=10**5), max_size=70),
)
def test_summary_always_within_limits(errors: list[str], successes: int, extra_failures: int,
                                      kinds: dict[str, int]) -> None:
    failures = [FailedChild(i, e, type=e[:20] or "E") for i, e in enumerate(errors)]
    failure_count = len(failures) + extra_failures
    result = FanoutResult(
        total_children=successes + failure_count,
        successful_results=[SuccessfulResult(v, 2 * v) for v in range(min(successes, 1000))],
        failed_children=failures, success_count=successes, failure_count=failure_count,
        success_rate=successes / max(successes + failure_count, 1), failure_groups=kinds, results_complete=False,
    )
    message = summary_message(make_run(), result)
    assert_valid(message)
    ours = re.sub(r"<@[A-Z0-9]+>|<https?://[^|>]+\|[^>]*>", "", all_text(message))
    assert "<" not in ours and ">" not in ours  # all outside text is escaped
    assert "<" not in message.text and ">" not in message.text


# ---------------------------------------------------------------- run_message


def test_run_message_just_started() -> None:
    message = run_message(make_run(), None)
    assert_valid(message)
    text = all_text(message)
    assert "<@U123ABC>" in text and "`/fanout 1-5 fail:even`" in text
    assert "*5* values · *5* child workflows" in text
    assert "`fanout-abc`" in text and f"<{UI}|" in text
    assert "0%" in text and "*0* of *5* done" in text
    acts = buttons(message)
    assert acts["fanout_cancel"]["value"] == "fanout-abc" and acts["fanout_cancel"]["style"] == "danger"
    assert {"title", "text", "confirm", "deny"} <= set(acts["fanout_cancel"]["confirm"])
    assert acts["fanout_open_ui"]["url"] == UI
    assert message.metadata == {
        "event_type": "fanout_started",
        "event_payload": {"workflow_id": "fanout-abc", "total_children": 5, "user_id": "U123ABC",
                          "child_workflow_count": 5, "batch_size": 1, "sequential": False},
    }


def test_run_message_running() -> None:
    progress = Progress(total=5, succeeded=2, failed=1, running=2, elapsed_s=12.5)
    message = run_message(make_run(), progress)
    assert_valid(message)
    text = all_text(message)
    assert "60%" in text and "*3* of *5* done" in text and "1 failed" in text and "2 running" in text
    assert "12.5 s elapsed" in text and "cancelling" not in text
    assert set(buttons(message)) == {"fanout_cancel", "fanout_details", "fanout_open_ui"}
    assert buttons(message)["fanout_details"]["value"] == "fanout-abc"  # the run's Details modal


def test_run_message_cancelling() -> None:
    progress = Progress(total=5, succeeded=1, running=4, cancel_requested_by="U777")
    message = run_message(make_run(), progress)
    assert "cancelling (requested by <@U777>)" in all_text(message)
    assert "fanout_cancel" not in buttons(message)  # already being cancelled


def test_run_message_final() -> None:
    message = run_message(make_run(), Progress(total=5, succeeded=3, failed=2), final=lab_result())
    assert_valid(message)
    text = all_text(message)
    assert "Finished: 3 succeeded · 2 failed — see thread" in text
    assert set(buttons(message)) == {"fanout_details", "fanout_open_ui"}
    assert buttons(message)["fanout_open_ui"]["url"] == UI


def test_run_message_final_cancelled() -> None:
    result = lab_result(status="cancelled", cancelled_by="U999", cancelled_count=3, success_count=1,
                        failure_count=1)
    text = all_text(run_message(make_run(), None, final=result))
    assert "Cancelled by <@U999>" in text and "3 cancelled" in text and "see thread" in text


def test_run_message_batch_sequential_retry() -> None:
    run = make_run(value_count=1_000_000, batch_size=1000, child_workflow_count=1000, sequential=True,
                   max_attempts=3, retry_of="fanout-old")
    text = all_text(run_message(run, None))
    assert "*1,000,000* values · *1,000* child workflows · batches of 1,000 · sequential" in text
    assert "up to 3 attempts" in text and "`fanout-old`" in text
    assert "batches of" not in all_text(run_message(make_run(), None))


def test_run_message_escapes_command_text_and_bad_user_ids() -> None:
    run = make_run(text="1-5 <@U1|x> <!here> & `tick`" + "x" * 500, user_id="<!channel>")
    message = run_message(run, None)
    assert_valid(message)
    text = all_text(message)
    assert "&lt;@U1|x&gt; &lt;!here&gt; &amp; ˋtickˋ" in text
    assert "<@U1|x>" not in text and "<!here>" not in text and "<!channel>" not in text
    assert "&lt;!channel&gt;" in text
    command = re.search(r"`/fanout [^`]*`", text)
    assert command is not None and len(command.group()) <= 210 and command.group().endswith("…`")
    assert "<!" not in message.text and "<@U1" not in message.text


def test_run_message_without_ui_url() -> None:
    message = run_message(make_run(ui_url=""), None)
    assert_valid(message)
    assert set(buttons(message)) == {"fanout_cancel", "fanout_details"}


# ---------------------------------------------------------------- other messages


def test_error_message() -> None:
    message = error_message("Bad range `5-1`: start must be <= end", "Usage: `/fanout 1-5`")
    assert_valid(message)
    assert message.text.startswith("Bad range")
    assert "Usage: `/fanout 1-5`" in all_text(message)
    assert message.as_ephemeral()["response_type"] == "ephemeral"
    assert message.as_ephemeral()["replace_original"] is False
    assert message.as_ack() == {"text": message.text, "blocks": message.blocks, "response_type": "ephemeral"}
    only_problem = error_message("Temporal is unreachable", "")
    assert len(only_problem.blocks) == 1


def test_error_message_long_is_clipped() -> None:
    message = error_message("x" * 5000, "y" * 5000)
    assert_valid(message)


def test_help_message() -> None:
    message = help_message("*/fanout* runs child workflows\n`/fanout 1-5`\n`/fanout status <id>`")
    assert_valid(message)
    assert message.text == "*/fanout* runs child workflows"
    assert "`/fanout status <id>`" in all_text(message)
    long = help_message("\n".join(f"line {i} " + "z" * 100 for i in range(400)))
    assert_valid(long)
    assert "more lines" in all_text(long)


def test_status_message_running_and_completed() -> None:
    running = status_message("fanout-abc", "Running", Progress(total=10, succeeded=4, running=6, elapsed_s=3.0),
                             None, UI)
    assert_valid(running)
    text = all_text(running)
    assert "Running" in text and "40%" in text and "`fanout-abc`" in text and "🔄" in text
    assert buttons(running)["fanout_open_ui"]["url"] == UI
    done = status_message("fanout-abc", "Completed", None, lab_result(), UI)
    assert_valid(done)
    text = all_text(done)
    assert "✅" in text and "60%" in text and "SimulatedFailure ×2" in text
    assert "3/5 succeeded" in done.text
    unknown = status_message("<bad>", "Terminated", None, None, "")
    assert_valid(unknown)
    assert "&lt;bad&gt;" in all_text(unknown) and not buttons(unknown)


def test_list_message() -> None:
    runs = [RunListing(f"fanout-{i:03d}", "Completed", "U1", "C42", f"1-{i} <!channel>", "2024-05-01T10:00:00+00:00",
                       UI) for i in range(300)]
    message = list_message("C42", runs)
    assert_valid(message)
    text = all_text(message)
    assert "<#C42>" in text and "`fanout-000`" in text and "<@U1>" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "<!date^1714557600^" in text
    shown = text.count("`fanout-")
    assert more_counts(text) == ([300 - shown] if shown < 300 else [])
    empty = list_message("C42", [])
    assert_valid(empty)
    assert "No `/fanout` runs" in all_text(empty)
    # The terminal's list (no channel): who started each run, and where.
    everywhere = all_text(list_message("", [RunListing("a", "Running", "U1", "C42", "1", "2024-05-01", ""),
                                            RunListing("b", "Completed", "cli:ada", "cli", "2", "2024-05-01", ""),
                                            RunListing("c", "Completed", "", "", "", "2024-05-01", "")]))
    assert "this namespace" in everywhere and "<@U1> in <#C42>" in everywhere
    assert "cli:ada in a terminal" in everywhere and "not /fanout's" in everywhere
    odd = list_message("C42", [RunListing("w", "Running", "not-an-id", "C42", "", "yesterday", "")])
    assert "not-an-id" in all_text(odd) and "yesterday" in all_text(odd)


@pytest.mark.parametrize(("status", "words"), [("terminated", "terminated"), ("timed_out", "timed out"),
                                               ("failed", "failed"), ("canceled", "cancelled in Temporal")])
def test_a_run_that_ended_without_a_result(status: str, words: str) -> None:
    ended = lab_result(status=status, successful_results=[], failed_children=[], success_count=1, failure_count=1,
                       cancelled_count=3, results_complete=False, failure_groups={})
    summary = summary_message(make_run(), ended)
    assert_valid(summary)
    assert f"Run {words} in Temporal" in all_text(summary) and "fanout_retry" not in buttons(summary)
    assert "fanout_details" in buttons(summary)  # its children are still in Temporal
    assert summary.metadata["event_payload"]["status"] == status  # type: ignore[index]
    message = run_message(make_run(), None, final=ended)
    assert_valid(message)
    assert f"Run {words} in Temporal" in all_text(message)
    assert set(buttons(message)) == {"fanout_details", "fanout_open_ui"}


# ---------------------------------------------------------------- approvals and schedules


WAIT_UNTIL = "2026-12-02T10:00:00+00:00"


def never_ran(status: str, by: str = "") -> FanoutResult:
    return lab_result(successful_results=[], failed_children=[], success_count=0, failure_count=0, success_rate=0.0,
                      cancelled_count=5, status=status, cancelled_by=by, failure_groups={}, results_complete=False)


def test_run_message_waiting_for_approval_offers_approve_reject_and_withdraw() -> None:
    message = run_message(make_run(), None, waiting_until=WAIT_UNTIL)
    assert_valid(message)
    assert list(buttons(message)) == ["fanout_approve", "fanout_reject", "fanout_cancel", "fanout_open_ui"]
    assert {buttons(message)[b]["value"] for b in ("fanout_approve", "fanout_reject")} == {"fanout-abc"}
    text = all_text(message)
    assert "Waiting for approval" in text and "anyone in this channel but <@U123ABC>" in text
    assert "<!date^1796205600^" in text  # when it expires, in each reader's own time zone
    assert "waiting for approval" in message.text


def test_run_message_waiting_names_the_approvers_when_a_setting_does() -> None:
    text = all_text(run_message(make_run(), None, waiting_until=WAIT_UNTIL, approvers=["UBOSS", "UOPS"]))
    assert "by <@UBOSS>, <@UOPS>" in text and "anyone" not in text


@pytest.mark.parametrize(("status", "says"), [("rejected", "Rejected by <@UREV>"), ("expired", "Expired"),
                                              ("withdrawn", "Withdrawn by <@UREV>")])
def test_a_run_that_never_ran_says_why_with_no_buttons_to_act(status: str, says: str) -> None:
    result = never_ran(status, "" if status == "expired" else "UREV")
    final = run_message(make_run(), None, final=result)
    summary = summary_message(make_run(), result)
    for message in (final, summary):
        assert_valid(message)
        assert says in all_text(message) and "nothing ran" in all_text(message)
    assert set(buttons(final)) == {"fanout_open_ui"}  # nothing ran: no details
    assert "fanout_approve" not in buttons(summary) and "fanout_retry" not in buttons(summary)
    assert "fanout_details" not in buttons(summary)


def test_an_approved_run_says_who_approved_it_and_when() -> None:
    run = make_run(approved_by="UREV", approved_at="2026-12-02T09:30:00+00:00")
    assert "approved by <@UREV>" in all_text(run_message(run, None))
    summary = all_text(summary_message(run, lab_result()))
    assert "Approved by <@UREV>" in summary and "<!date^1796203800^" in summary


def test_a_scheduled_run_names_its_schedule() -> None:
    run = make_run(schedule_id="fanout-sch-0123456789")
    assert "schedule `fanout-sch-0123456789`" in all_text(run_message(run, None))
    assert "Fired by schedule `fanout-sch-0123456789`" in all_text(summary_message(run, lab_result()))


def listing(**overrides: Any) -> ScheduleListing:
    fields: dict[str, Any] = {"schedule_id": "fanout-sch-0123456789", "when": "every 1h", "text": "1-10 --fail even",
                              "owner": "U123ABC", "paused": False,
                              "next_fire": datetime(2026, 12, 2, 10, 0, tzinfo=UTC), "last_run": "", "last_status": ""}
    fields.update(overrides)
    return ScheduleListing(**fields)


def test_schedules_message_lists_next_firing_and_last_result() -> None:
    message = schedules_message("C42", [
        listing(),
        listing(schedule_id="fanout-sch-aaaaaaaaaa", paused=True, last_run="fanout-sch-aaaaaaaaaa-2026",
                last_status="partial"),
    ])
    assert_valid(message)
    text = all_text(message)
    assert "Schedules in <#C42>" in text and "· 2" in text
    first, second = text.split("\n")[-2:]
    assert "fanout-sch-0123456789" in first and "next <!date^1796205600^" in first and "not fired yet" in first
    assert "⏸ paused" in second and "last `fanout-sch-aaaaaaaaaa-2026`" in second and "partial" in second


def test_schedules_message_with_none_says_how_to_make_one() -> None:
    message = schedules_message("C42", [])
    assert_valid(message)
    assert "/fanout schedule every 1h 1-10" in all_text(message)


def test_schedules_message_escapes_what_users_wrote() -> None:
    text = all_text(schedules_message("C42", [listing(text="<!channel> & co", when="<@U1>")]))
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp; co" in text and "&lt;@U1&gt;" in text


def test_schedules_message_stays_within_limits_for_many() -> None:
    message = schedules_message("C42", [listing(schedule_id=f"fanout-sch-{i:010d}") for i in range(400)])
    assert_valid(message)


def test_a_teams_json_result_is_shown_compact_escaped_and_short() -> None:
    from bot.render.run import RESULT_SHOWN, result_shown

    assert result_shown(6) == "6"
    assert result_shown({"path": "value-1.json", "bytes": 33}) == '{"path":"value-1.json","bytes":33}'
    assert result_shown({"who": "<!channel>"}) == '{"who":"&lt;!channel&gt;"}'
    long = result_shown(["x" * 500])
    assert long.endswith("…") and len(long) <= RESULT_SHOWN
