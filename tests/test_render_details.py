"""The Details modal's views (bot.render.details) and the pure parts of its read side (bot.details.ended,
bot.details.live): where a view is (its private_metadata), what each view shows, escaping, and Slack's limits
(checked by the fake Slack's validator) whatever the data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.details.ended import ended_batches, ended_children, result_of, span_counts
from bot.details.live import attempt_of
from bot.render.blocks import Message, section
from bot.render.details import (
    PAGE_SIZE,
    PRIVATE_METADATA_MAX,
    BatchFailure,
    BatchFailures,
    BatchLine,
    ChildLine,
    Counts,
    Cursor,
    Listing,
    Place,
    RunHeader,
    RunPage,
    Story,
    StoryAttempt,
    answer_view,
    batch_view,
    loading_view,
    run_view,
    story_view,
)
from bot.runs.info import RunInfo
from devkit.fake_slack.blockkit import view_problems, view_size_too_large
from workflows.model import ChildPlugin, ChildSpan, FanoutRequest, ValueRange

RUN = RunInfo("fanout-abc", "U1", "C1", "1-5", 5, 1, 5, max_attempts=3, ui_url="http://ui/wf/fanout-abc")
REQUEST = FanoutRequest([ValueRange(1, 5)], max_attempts=3)


def valid(view: dict[str, Any]) -> str:
    """The view as Slack takes it, as text."""
    assert not view_problems(view, "modal"), view_problems(view, "modal")
    assert not view_size_too_large(view) and len(view["blocks"]) <= 100
    assert len(view.get("private_metadata", "")) <= PRIVATE_METADATA_MAX
    return json.dumps(view, ensure_ascii=False)


def header(**changes: Any) -> RunHeader:
    base = dict(run=RUN, status="Completed", live=False, started_at="2026-12-04T10:00:00+00:00", wall_s=1.5,
                request=REQUEST, child_workflows=5, counts=Counts(5, 3, 2))
    return RunHeader(**{**base, **changes})


# -- where a view is ---------------------------------------------------------------------------------------------

def test_a_place_travels_in_private_metadata_compactly_and_back() -> None:
    place = Place("fanout-abc", "C1")
    assert place.encode() == '{"r":"fanout-abc","c":"C1"}'  # defaults are left out
    live = Place("fanout-abc", "C1", "failed", 3, at=Cursor("dG9rZW4=", 20), ahead=Cursor("bmV4dA==", 0),
                 back=(Cursor(), Cursor("b2xk", 40)))
    assert Place.decode(live.encode()) == live
    assert Place.decode(Place("r", "C1", batch=4, page=2).encode()) == Place("r", "C1", batch=4, page=2)
    for junk in (None, "", "not json", "[]", '{"c":"C1"}', '{"r":"x","p":"two"}'):
        assert Place.decode(junk) is None


def test_the_way_back_is_dropped_oldest_first_to_fit_slacks_3000_characters() -> None:
    back = tuple(Cursor("x" * 180, k) for k in range(40))
    place = Place("r" * 201, "C1", "running", 40, at=Cursor("y" * 180), back=back)
    encoded = place.encode()
    assert len(encoded) <= PRIVATE_METADATA_MAX
    kept = Place.decode(encoded)
    assert kept is not None and kept.back == back[-len(kept.back):] and 0 < len(kept.back) < 40
    # Previous beyond what was kept goes back to the first page.
    first = Place("r", "C1", "running", 5, at=Cursor("t", 0))
    assert first.turned(forward=False) == Place("r", "C1", "running", 0)


def test_pages_turn_by_position_or_by_visibility_token() -> None:
    by_position = Place("r", "C1", "all", 2)
    assert by_position.turned(forward=True).page == 3 and by_position.turned(forward=False).page == 1
    by_token = Place("r", "C1", "running", 0, ahead=Cursor("t1", 0))
    second = by_token.turned(forward=True)
    assert (second.page, second.at, second.back, second.ahead) == (1, Cursor("t1", 0), (Cursor(),), None)
    assert second.turned(forward=False) == Place("r", "C1", "running", 0)
    assert Place("r", "C1", "failed", 4).showing("retried") == Place("r", "C1", "retried")
    assert Place("r", "C1").showing("bogus").show == "all"
    assert Place("r", "C1", "failed", 2).pushed(child=3) == Place("r", "C1", child=3)
    assert Cursor.of(b"\x00token").page_token == b"\x00token" and Cursor.of(None) == Cursor()


# -- the run's view ------------------------------------------------------------------------------------------------

def test_the_runs_view_who_where_how_its_children_and_its_timeline() -> None:
    lines = [ChildLine(0, "1", "succeeded", 1, 0.012, 2, True),
             ChildLine(1, "2 #1", "failed", 3, 6.5, error_kind="SimulatedFailure",
                       error="Simulated failure for value 2", story=True),
             ChildLine(2, "2 #2", "succeeded", 2, 1.2, 4, True, story=True)]
    page = RunPage(header(), Listing(False, lines, 0, 5, True, counts={"all": 5, "failed": 1}),
                   timeline="Timeline · wall 1.50 s\nparent ├─┤")
    view = run_view(page, Place("fanout-abc", "C1"))
    text = valid(view)
    assert view["callback_id"] == "fanout_details" and view["title"]["text"] == "Run details"
    assert "<@U1> ran `/fanout 1-5` in <#C1>" in text and "<!date^1796378400^" in text
    assert "*Status*\\nCompleted" in text and "*Wall time*\\n1.5 s" in text and "*Failure rule*\\n`even`" in text
    assert "up to 3 attempts, each a new run of the child; waits 1 s, 2 s" in text
    assert "5 values in 5 child workflows" in text and "✓ 3 succeeded · ✗ 2 failed of 5" in text
    assert "*Children* · all · 1–3 of 5" in text
    assert "*1* ✓ succeeded → 2 · 1 attempt · 12 ms" in text
    assert "*2 #1* ✗ failed · 3 attempts · 6.5 s\\n_SimulatedFailure_: Simulated failure for value 2" in text
    buttons = {e["action_id"]: e for b in view["blocks"] for e in [*b.get("elements", []), b.get("accessory", {})]
               if e.get("type") == "button" and "action_id" in e}
    assert buttons["fanout_details_go:all"]["style"] == "primary" and "style" not in buttons["fanout_details_go:failed"]
    assert buttons["fanout_details_go:all"]["text"]["text"] == "All (5)"
    assert buttons["fanout_details_go:retried"]["text"]["text"] == "Retried"  # not known: no count
    assert "fanout_details_go:next" in buttons and "fanout_details_go:prev" not in buttons
    stories = [b["accessory"]["value"] for b in view["blocks"] if "accessory" in b]
    assert stories == ["1", "2"]  # the failed and the retried child
    assert view["blocks"][-1]["text"]["text"] == "```Timeline · wall 1.50 s\nparent ├─┤```"
    assert Place.decode(view["private_metadata"]) == Place("fanout-abc", "C1")


def test_a_live_page_keeps_where_next_goes_and_says_so_far() -> None:
    lines = [ChildLine(4, "5", "waiting to retry", 2, 0.3, story=True), ChildLine(9, "10", "running", 1, 2.0)]
    listing = Listing(False, lines, has_next=True, ahead=Cursor("dG9r", 20), counts={"running": 2})
    page = RunPage(header(status="Running", live=True, wall_s=3.0, counts=Counts(10, 1, 0, 9)), listing)
    view = run_view(page, Place("fanout-abc", "C1", "running", 1, at=Cursor("c3Q=", 0), back=(Cursor(),)))
    text = valid(view)
    assert "3.0 s so far" in text and "🔄 9 running" in text and "*Children* · still running · page 2: 2 shown" in text
    assert "*5* ⏳ waiting to retry · 2 attempts · 300 ms so far" in text
    assert Place.decode(view["private_metadata"]).ahead == Cursor("dG9r", 20)  # type: ignore[union-attr]
    assert "fanout_details_go:prev" in text and "fanout_details_go:next" in text


def test_user_text_is_escaped_everywhere() -> None:
    run = RunInfo("fanout-abc", "U1", "C1", "1 <!channel> & <@U2|x>", 1, 1, 1, retry_of="<!here>")
    line = ChildLine(0, "1", "failed", 1, 0.1, error_kind="<b>", error="boom <!everyone> <https://x|y> &", story=True)
    ok = ChildLine(1, "2", "succeeded", 1, 0.1, {"html": "<script>&"}, True)
    view = run_view(RunPage(header(run=run), Listing(False, [line, ok], total=2), "a <b> & c"),
                    Place("fanout-abc", "C1"))
    text = valid(view)
    for raw in ("<!channel>", "<@U2|x>", "<!here>", "<!everyone>", "<https://x|y>", "<script>", "<b>"):
        assert raw not in text, raw
    assert "&lt;!channel&gt; &amp; &lt;@U2|x&gt;" in text and "&lt;script&gt;&amp;" in text
    assert "```a &lt;b&gt; &amp; c```" in text


def test_headers_of_runs_started_elsewhere_or_not_yet() -> None:
    cli = valid(run_view(RunPage(header(run=RunInfo("fanout-abc", "cli:ada", "cli", "1-3", 3, 1, 3, in_slack=False)),
                                 None), Place("fanout-abc")))
    assert "cli:ada ran `fanout 1-3` in a terminal" in cli
    lab = valid(run_view(RunPage(header(run=RunInfo.unknown("wf", ""), by_fanout=False), None), Place("wf")))
    assert "started outside /fanout" in lab
    waiting = RunPage(RunHeader(RUN, "Waiting for approval", live=True, note="⏳ It waits for an approval"), None)
    text = valid(run_view(waiting, Place("fanout-abc", "C1")))
    assert "It waits for an approval" in text and "*Retry policy*\\n—" in text and "Children" not in text
    plugin = FanoutRequest([ValueRange(1, 3)], fail="none", max_attempts=2, child_type="write-file",
                           plugin=ChildPlugin("q", "PluginChildWorkflow", "write_value_file"))
    text = valid(run_view(RunPage(header(request=plugin, workflow_retries=False), None), Place("fanout-abc", "C1")))
    assert "its own (`write-file` fails on its own)" in text and "activity attempts inside the child" in text


def test_the_runs_batches_with_their_counts() -> None:
    lines = [BatchLine(0, "1-10000", 10_000, "mixed", 5000, 5000, 3, 12.0, opens=True),
             BatchLine(1, "10001-20000", 10_000, "succeeded", 10_000, 0, 1, 9.0),
             BatchLine(2, "20001-30000", 10_000, "mixed", None, None, 1, 9.0, opens=True),
             BatchLine(3, "30001-35000 40001-40005 …", 5_005, "not started", 0, 0)]
    page = RunPage(header(child_workflows=100, batch_size=10_000, shards=4), Listing(True, lines, 20, 100, True))
    text = valid(run_view(page, Place("fanout-abc", "C1", page=1)))
    assert "(batches of 10,000, 4 shards)" in text and "*Batches* · all · 21–24 of 100" in text
    assert "*Batch 0* · values 1-10000 (10,000)\\n✓ 5,000 · ✗ 5,000 · up to 3 attempts · 12.0 s" in text
    assert "*Batch 2* · values 20001-30000 (10,000)\\n◐ mixed" in text  # a result from before counts were kept
    assert "*Batch 3* · values 30001-35000 40001-40005 … (5,005)\\n✓ 0 · ✗ 0 · ⏹ 5,005" in text
    assert text.count('"fanout_details_open_batch"') == 2


def test_a_full_page_of_the_worst_children_stays_within_slacks_limits() -> None:
    lines = [ChildLine(p, f"{-10**12} #{p}", "failed", 10, 3600.0, error_kind="K" * 200, error="é" * 5000,
                       story=True) for p in range(PAGE_SIZE)]
    listing = Listing(False, lines, 980, 1000, True, counts=dict.fromkeys(("all", "failed", "retried"), 10**6))
    long_run = RunInfo("f" * 201, "U1", "C1", "x" * 3000, 10**6, 10_000, 100, retry_of="r" * 201,
                       schedule_id="s" * 201, ui_url="http://ui/" + "u" * 2000)
    page = RunPage(header(run=long_run), listing, "t" * 10_000)
    back = tuple(Cursor("x" * 300, 1) for _ in range(30))
    view = run_view(page, Place(long_run.workflow_id, "C1", "failed", 49, at=Cursor("y" * 300), back=back))
    valid(view)
    assert len(json.dumps(view, separators=(",", ":")).encode()) < 250 * 1024


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["succeeded", "failed", "cancelled", "running", "not started"]),
                          st.integers(0, 10), st.text(max_size=400), st.one_of(st.none(), st.integers(),
                                                                                st.text(max_size=200))),
                max_size=PAGE_SIZE))
def test_any_page_is_a_valid_view(rows: list[tuple[str, int, str, Any]]) -> None:
    lines = [ChildLine(p, str(p), status, attempts, 1.0, result, result is not None, "Kind", error,
                       story=status == "failed") for p, (status, attempts, error, result) in enumerate(rows)]
    valid(run_view(RunPage(header(), Listing(False, lines, 0, len(lines))), Place("fanout-abc", "C1")))


# -- a child's story, a batch's failures, loading, answers -------------------------------------------------------

def test_a_childs_story_with_retries() -> None:
    attempts = [StoryAttempt(1, 0.278, 0.408, "failed", "RandomFailure", "Random failure for value 4", 1.0),
                StoryAttempt(2, 1.408, 1.433, "failed", "RandomFailure", "Random failure for value 4", 2.0),
                StoryAttempt(3, 3.433, 3.454, "succeeded", result=8)]
    story = Story("fanout-abc", "fanout-abc-c3", "4", attempts=attempts, final="succeeded on attempt 3")
    view = story_view(story, Place("fanout-abc", "C1", child=3))
    text = valid(view)
    assert view["callback_id"] == "fanout_details_story" and "*Value 4* · child `fanout-abc-c3`" in text
    assert "• +0.278 s attempt 1 started\\n• +0.408 s attempt 1 failed after 130 ms: _RandomFailure_: Random " \
           "failure for value 4\\n    then a 1 s backoff before attempt 2" in text
    assert "• +3.454 s attempt 3 succeeded after 21 ms → 8" in text and "*Final:* succeeded on attempt 3" in text
    assert "fanout_details_open" not in text  # a pushed view never pushes


def test_a_story_whose_history_is_gone_in_whole_or_in_part() -> None:
    gone = valid(story_view(Story("r", "r-c1", "2", gone=True), Place("r", "C1", child=1)))
    assert "Its history is gone" in gone and "retention" in gone
    partial = Story("r", "r-c1", "2", gone_attempts=1, final="failed on attempt 3",
                    attempts=[StoryAttempt(1, None, 1.2, "gone", "SimulatedFailure", "Simulated failure", 2.0),
                              StoryAttempt(2, 3.2, 3.3, "failed", "SimulatedFailure", "Simulated failure", 4.0),
                              StoryAttempt(3, 7.3, 7.4, "failed", "SimulatedFailure", "Simulated failure")])
    text = valid(story_view(partial, Place("r", "C1", child=1)))
    assert "• attempt 1: history gone (retention removed those runs)" in text
    assert "• +1.200 s attempt 1 failed: _SimulatedFailure_" in text and "• +3.200 s attempt 2 started" in text
    waiting = Story("r", "r-c1", "2", attempts=[StoryAttempt(1, 0.1, 0.2, "failed", "K", "m", 2.0),
                                               StoryAttempt(2, 2.2, outcome="waiting")],
                    final="waiting to retry: attempt 2 is due at +2.200 s")
    assert "• +2.200 s attempt 2 is due (waiting out its backoff)" in valid(story_view(waiting, Place("r", "C1")))
    activities = Story("r", "r-c1", "5", activities=True, attempts=[StoryAttempt(1, 0.1, 0.2, "timed out", "K", "m")])
    assert "activities inside this one child workflow" in valid(story_view(activities, Place("r", "C1")))


def test_a_batchs_failures_a_page_at_a_time() -> None:
    failures = [BatchFailure(v, "SimulatedFailure", f"Simulated failure for value {v} <!here>", 3)
                for v in range(990_002, 990_102, 2)]
    batch = BatchFailures("fanout-abc", 99, "990001-1000000", 10_000, failures, 0, 5000, 5000, 0, 3)
    view = batch_view(batch, Place("fanout-abc", "C1", batch=99))
    text = valid(view)
    assert "*Batch 99* of run `fanout-abc` · values 990001-1000000 (10,000)" in text
    assert "✓ 5,000 succeeded · ✗ 5,000 failed · up to 3 attempts" in text and "*Failures* · 1–50 of 5,000" in text
    assert "*990002* _SimulatedFailure_: Simulated failure for value 990002 &lt;!here&gt; · 3 attempts" in text
    assert "<!here>" not in text and "fanout_details_go:next" in text and "fanout_details_go:prev" not in text
    assert "Values inside a batch have no history of their own" in text
    last = BatchFailures("fanout-abc", 99, "990001-1000000", 10_000, failures[:10], 4990, 5000, 5000)
    assert "fanout_details_go:next" not in valid(batch_view(last, Place("fanout-abc", "C1", batch=99, page=99)))
    never = BatchFailures("fanout-abc", 3, "31-40", 10, outcome="It has no workflow: the run was cancelled first.")
    assert "It has no workflow" in valid(batch_view(never, Place("fanout-abc", "C1", batch=3)))
    clean = BatchFailures("fanout-abc", 1, "11-20", 10, succeeded=10)
    assert "No value of this batch failed." in valid(batch_view(clean, Place("fanout-abc", "C1", batch=1)))


def test_loading_views_and_answers_are_views_of_the_same_place() -> None:
    for place, callback, title in [(Place("r", "C1"), "fanout_details", "Run details"),
                                   (Place("r", "C1", child=2), "fanout_details_story", "A child's story"),
                                   (Place("r", "C1", batch=5), "fanout_details_batch", "Batch failures")]:
        loading = loading_view(place)
        assert "Reading" in valid(loading) and loading["callback_id"] == callback
        assert loading["title"]["text"] == title and Place.decode(loading["private_metadata"]) == place
        answered = answer_view(Message("no", [section(":warning: No run `r` found in this channel.").to_dict()]),
                               place)
        assert "No run `r` found in this channel." in valid(answered) and answered["callback_id"] == callback


# -- the read side's pure parts ------------------------------------------------------------------------------------

def raw_result(**changes: Any) -> dict[str, Any]:
    """A per-value run's result as read untyped: 1 2 3 4 5, the fourth cancelled, the fifth never started."""
    raw = {"total_children": 5, "success_count": 2, "failure_count": 1, "success_rate": 0.4, "cancelled_count": 2,
           "status": "cancelled", "batch_size": 1, "wall_s": 2.0, "some_future_field": 1,
           "successful_results": [{"value": 1, "result": 2, "attempts": 1}, {"value": 3, "result": 6, "attempts": 2}],
           "failed_children": [{"value": 2, "error": "Simulated failure for value 2", "type": "ApplicationError",
                                "attempts": 1, "kind": "SimulatedFailure"}],
           "spans": [{"index": 0, "start_ms": 1, "end_ms": 11, "status": "succeeded", "attempts": 1, "values": 1},
                     {"index": 1, "start_ms": 1, "end_ms": 21, "status": "failed", "attempts": 1, "values": 1},
                     {"index": 2, "start_ms": 1, "end_ms": 1501, "status": "succeeded", "attempts": 2, "values": 1},
                     {"index": 3, "start_ms": 1, "end_ms": 2001, "status": "cancelled", "attempts": 1, "values": 1}]}
    return {**raw, **changes}


def test_an_ended_runs_children_from_its_result_alone() -> None:
    ranges = [ValueRange(1, 5)]
    listing = ended_children(raw_result(), ranges, Place("r", "C1"))
    assert [(c.label, c.status, c.story) for c in listing.lines] == [
        ("1", "succeeded", False), ("2", "failed", True), ("3", "succeeded", True), ("4", "cancelled", False),
        ("5", "not started", False)]
    assert listing.lines[1].error_kind == "SimulatedFailure" and listing.lines[2].result == 6
    assert listing.counts == {"all": 5, "failed": 1, "retried": 1, "running": 0} and listing.total == 5
    assert [c.label for c in ended_children(raw_result(), ranges, Place("r", "C1", "retried")).lines] == ["3"]
    running = ended_children(raw_result(), ranges, Place("r", "C1", "running"))
    assert running.lines == [] and "Nothing is running" in running.note
    assert result_of(raw_result()).wall_s == 2.0  # unknown fields (a newer result's) are left out


def test_an_ended_runs_batches_and_their_counts_old_results_included() -> None:
    spans = [ChildSpan(0, 0, 10, "mixed", 3, 10, 9, 1), ChildSpan(1, 0, 10, "succeeded", 1, 10),
             ChildSpan(2, 0, 10, "mixed", 1, 10)]  # 1: from before counts (its status says); 2: nothing known
    assert [span_counts(s) for s in spans] == [(9, 1), (10, 0), (None, None)]
    result = result_of(raw_result(total_children=35, batch_size=10, spans=[s.__dict__ for s in spans]))
    listing = ended_batches(result, [ValueRange(1, 35)], Place("r", "C1"))
    assert [(b.label, b.status, b.opens) for b in listing.lines] == [
        ("1-10", "mixed", True), ("11-20", "succeeded", False), ("21-30", "mixed", True), ("31-35", "not started",
                                                                                         False)]
    assert listing.lines[3].values == 5
    assert [b.index for b in ended_batches(result, [ValueRange(1, 35)], Place("r", "C1", "failed")).lines] == [0, 2]
    assert [b.index for b in ended_batches(result, [ValueRange(1, 35)], Place("r", "C1", "retried")).lines] == [0]


def test_a_childs_attempt_from_its_visibility_row() -> None:
    start = datetime(2026, 12, 4, tzinfo=UTC)

    def row(backoff_s: float) -> Any:
        return SimpleNamespace(start_time=start, execution_time=start + timedelta(seconds=backoff_s))

    assert [attempt_of(row(b)) for b in (0, 0.001, 1, 2, 4, 8, 64, 100)] == [1, 1, 2, 3, 4, 5, 8, 9]
