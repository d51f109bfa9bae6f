"""The execution timeline (issue 7): the data behind the chart, the PNG, the text, and the upload."""

from __future__ import annotations

import io
import random

import numpy as np
import pytest
from temporalio.client import Client

from bot.files.timeline import (
    BAR_LIMIT,
    COLOURS,
    WIDTH_PX,
    figure_size_px,
    render_timeline_png,
    text_timeline,
    timeline_data,
    value_labels,
)
from bot.reporting.payloads import ReportOutcome
from tests.conftest import BotUnderTest
from workflows.model import ChildSpan, FanoutResult, ValueRange

TOKEN = "xoxb-timeline"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LAB = [ValueRange(1, 5)]  # the lab's values, 1 2 3 4 5


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def pixel_count(png: bytes, colour: str) -> int:
    """How many pixels are exactly this colour (bar interiors are; text antialiasing rarely is)."""
    from PIL import Image  # comes with matplotlib

    with Image.open(io.BytesIO(png)) as image:
        rgb = np.asarray(image.convert("RGB"))
    want = [int(colour[i:i + 2], 16) for i in (1, 3, 5)]
    return int((rgb == want).all(axis=2).sum())


def make_result(spans: list[ChildSpan], *, total: int | None = None, failed: int | None = None,
                sequential: bool = False, batch_size: int = 1, status: str = "completed") -> FanoutResult:
    values = sum(s.values for s in spans)
    total = values if total is None else total
    failed = sum(s.values for s in spans if s.status == "failed") if failed is None else failed
    cancelled = total - sum(s.values for s in spans if s.status != "cancelled")
    succeeded = total - failed - cancelled
    return FanoutResult(
        total_children=total, successful_results=[], failed_children=[], success_count=succeeded,
        failure_count=failed, success_rate=succeeded / total if total else 0.0, cancelled_count=cancelled,
        status=status, sequential=sequential, batch_size=batch_size, child_workflow_count=len(spans),
        wall_s=max((s.end_ms for s in spans), default=0) / 1000 + 0.02,
        child_s_sum=sum(s.end_ms - s.start_ms for s in spans) / 1000, results_complete=batch_size == 1,
        spans=spans,
    )


def lab_run() -> FanoutResult:
    """The lab's run: values 1-5, even ones fail; children start together and finish apart."""
    spans = [ChildSpan(i, 4 + 3 * i, 4 + 3 * i + (100 if (i + 1) % 2 == 0 else 210),
                       "failed" if (i + 1) % 2 == 0 else "succeeded") for i in range(5)]
    return make_result(spans)


def sequential_run() -> FanoutResult:
    spans, t = [], 3
    for i in range(5):
        spans.append(ChildSpan(i, t, t + 200 + 10 * i, "failed" if i % 2 else "succeeded", attempts=1 + (i == 3)))
        t += 200 + 10 * i + 5
    return make_result(spans, sequential=True)


def cancelled_run() -> FanoutResult:
    spans = [ChildSpan(0, 2, 300, "succeeded"), ChildSpan(1, 3, 310, "failed"),
             ChildSpan(2, 4, 900, "cancelled"), ChildSpan(3, 5, 900, "cancelled")]
    return make_result(spans, total=10, status="cancelled")


def batched_run(n: int = 1000, batch: int = 1000, seed: int = 7) -> FanoutResult:
    """A 1,000,000-value run in 1,000 batch children, 500 at a time: some fully failed, some mixed,
    a few cancelled."""
    rnd = random.Random(seed)
    spans, failed = [], 0
    for i in range(n):
        start = (i // 500) * 4000 + rnd.randint(0, 900)
        status = "cancelled" if i >= n - 5 else rnd.choice(["succeeded", "succeeded", "mixed", "failed"])
        failed += batch if status == "failed" else batch // 2 if status == "mixed" else 0
        spans.append(ChildSpan(i, start, start + rnd.randint(1500, 4000), status, values=batch))
    return make_result(spans, failed=failed, batch_size=batch)


# -- the data behind the chart ---------------------------------------------------------------------------------


def overlaps(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def test_parallel_bars_overlap_and_match_the_run() -> None:
    result = lab_run()
    data = timeline_data(result)
    assert data.mode == "bars" and data.series is None
    assert [b.index for b in data.bars] == [0, 1, 2, 3, 4]
    assert [b.status for b in data.bars] == ["succeeded", "failed", "succeeded", "failed", "succeeded"]
    assert [(b.start_s, b.end_s) for b in data.bars] == [(s.start_ms / 1000, s.end_ms / 1000) for s in result.spans]
    spans = [(b.start_s, b.end_s) for b in data.bars]
    assert all(overlaps(a, b) for a in spans for b in spans)
    assert data.wall_s == pytest.approx(result.wall_s)
    assert data.speedup == pytest.approx(result.child_s_sum / result.wall_s)
    assert data.peak_children == 5


def test_sequential_bars_never_overlap_a_staircase() -> None:
    data = timeline_data(sequential_run())
    assert data.mode == "bars" and data.peak_children == 1
    for before, after in zip(data.bars, data.bars[1:], strict=False):
        assert before.end_s <= after.start_s
    assert data.speedup == pytest.approx(1.0, abs=0.05)


def test_many_spans_switch_to_concurrency_and_end_at_the_run_counts() -> None:
    result = batched_run()
    assert result.total_children == 1_000_000 and len(result.spans) == 1000
    data = timeline_data(result)
    assert data.mode == "concurrency" and data.series is not None
    s = data.series
    assert s.succeeded[-1] == result.success_count
    assert s.failed[-1] == result.failure_count
    assert s.cancelled[-1] == sum(x.values for x in result.spans if x.status == "cancelled")
    assert s.running[-1] == 0 and s.running.min() >= 0
    assert s.running.max() == 500 * 1000 and data.peak_children == 500
    for done in (s.succeeded, s.failed, s.cancelled):
        assert (np.diff(done) >= 0).all()  # cumulative
    assert (np.diff(s.t_s) > 0).all() and s.t_s[0] == 0


def test_mixed_batches_share_the_runs_exact_counts() -> None:
    """Mixed batches say nothing of how their values ended: the series still end at the exact counts."""
    spans = [ChildSpan(i, 10 * i, 10 * i + 500, "mixed" if i % 3 else "succeeded", values=7) for i in range(300)]
    spans[5] = ChildSpan(5, 50, 550, "cancelled", values=7)
    result = make_result(spans, failed=400)
    result.success_count -= 13  # some values in mixed batches were cancelled while awaiting a retry
    result.cancelled_count += 13
    s = timeline_data(result).series
    assert s is not None
    assert (s.succeeded[-1], s.failed[-1]) == (result.success_count, result.failure_count)
    assert s.cancelled[-1] == 7 + 13 == result.cancelled_count
    assert s.succeeded[-1] + s.failed[-1] + s.cancelled[-1] == result.total_children


def test_concurrency_series_matches_a_brute_force_count() -> None:
    rnd = random.Random(3)
    spans = []
    for i in range(BAR_LIMIT + 50):
        start = rnd.randint(0, 2000)
        spans.append(ChildSpan(i, start, start + rnd.randint(0, 800), rnd.choice(["succeeded", "failed"]),
                               values=rnd.randint(1, 5)))
    s = timeline_data(make_result(spans)).series
    assert s is not None
    for t, running, ok, bad in zip(s.t_s, s.running, s.succeeded, s.failed, strict=True):
        ms = round(t * 1000)
        assert running == sum(x.values for x in spans if x.start_ms <= ms < x.end_ms)
        assert ok == sum(x.values for x in spans if x.end_ms <= ms and x.status == "succeeded")
        assert bad == sum(x.values for x in spans if x.end_ms <= ms and x.status == "failed")


def test_a_run_of_two_thousand_spans_still_renders_a_bounded_chart() -> None:
    batches = batched_run().spans
    per_value = [ChildSpan(1000 + i, 10 * i, 10 * i + 50, "succeeded") for i in range(1000)]
    result = make_result(batches + per_value, failed=batched_run().failure_count)
    png = render_timeline_png(result, "fanout-2000", [ValueRange(1, 2_000_000)])
    assert png_size(png) == figure_size_px(timeline_data(result))


# -- the PNG ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lab_run, sequential_run, cancelled_run, batched_run])
def test_png_is_a_png_of_the_expected_size(make: object) -> None:
    result = make()  # type: ignore[operator]
    png = render_timeline_png(result, "fanout-test-run", [ValueRange(1, 10_000)])
    width, height = png_size(png)
    assert (width, height) == figure_size_px(timeline_data(result))
    assert width == WIDTH_PX and 300 <= height <= 900
    assert png.endswith(b"IEND\xaeB`\x82")


def test_bar_colours_follow_the_outcome() -> None:
    lab = render_timeline_png(lab_run(), "fanout-lab", LAB)
    assert pixel_count(lab, COLOURS["succeeded"]) > 5000 and pixel_count(lab, COLOURS["failed"]) > 1000
    assert pixel_count(lab, COLOURS["cancelled"]) < 100  # no grey bars, at most stray antialiased text
    cancelled = render_timeline_png(cancelled_run(), "fanout-cancelled", [ValueRange(1, 10)])
    assert pixel_count(cancelled, COLOURS["cancelled"]) > 5000  # grey bars


def test_height_grows_with_bars_up_to_a_cap() -> None:
    small = figure_size_px(timeline_data(lab_run()))
    many = [ChildSpan(i, 0, 100, "succeeded") for i in range(BAR_LIMIT)]
    assert small[1] < figure_size_px(timeline_data(make_result(many)))[1] == 900


def test_user_text_in_the_run_id_is_not_mathtext() -> None:
    assert png_size(render_timeline_png(lab_run(), "fanout-$x^{2}$-$", LAB))[0] == WIDTH_PX


# -- the text timeline -----------------------------------------------------------------------------------------


def test_text_timeline_draws_one_row_per_child_scaled_to_wall_time() -> None:
    text = text_timeline(lab_run(), LAB, width=40)
    lines = text.splitlines()
    assert "faster than one after another" in lines[0]
    assert lines[1].startswith("parent") and "├" + "─" * 38 + "┤" in lines[1]
    rows = lines[2:]
    assert [r.split()[0] for r in rows] == ["1", "2", "3", "4", "5"]  # by value, as everything else speaks
    assert [("✓" in r, "✗" in r) for r in rows] == [(True, False), (False, True)] * 2 + [(True, False)]
    assert "0.21 s" in rows[0] and "0.10 s" in rows[1]


def test_text_timeline_shows_the_sequential_staircase_and_cancellations() -> None:
    rows = text_timeline(sequential_run(), LAB).splitlines()[2:]
    starts = [r.index("├") for r in rows]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    assert "2 attempts" in rows[3]
    assert text_timeline(cancelled_run(), [ValueRange(1, 10)]).count("⏹") == 2


def test_text_timeline_summarises_long_and_large_runs() -> None:
    fifty = make_result([ChildSpan(i, 0, 100, "succeeded") for i in range(50)])
    assert text_timeline(fifty, [ValueRange(1, 50)]).splitlines()[-1] == "…and 20 more (20 succeeded)"
    big = text_timeline(batched_run(), [ValueRange(1, 1_000_000)])
    assert "peak 500 children at once" in big and "1,000 child workflows, batches of 1,000" in big
    assert len(big.splitlines()) == 5
    assert text_timeline(make_result([]), LAB) == ""


def test_children_are_labelled_by_value_a_repeated_one_by_its_position_too_a_batch_by_its_ranges() -> None:
    # /fanout 2 2 7 -3: the value 2 twice, each with its position (its child id's -c<position>).
    assert value_labels({0, 1, 2, 3}, [ValueRange(2, 2), ValueRange(2, 2), ValueRange(7, 7), ValueRange(-3, -3)],
                        1) == {0: "2 #0", 1: "2 #1", 2: "7", 3: "-3"}
    # Batches of 10 over 1-25 and -5..-1: ranges as /fanout writes them, a batch over two ranges shows both.
    ranges = [ValueRange(1, 25), ValueRange(-5, -1)]
    assert value_labels({0, 1, 2}, ranges, 10) == {0: "1-10", 1: "11-20", 2: "21-25 -5..-1"}
    assert value_labels({0}, [ValueRange(v, v) for v in range(1, 20, 2)], 10) == {0: "1 3 …"}
    assert value_labels({99}, [ValueRange(1, 1_000_000)], 10_000) == {99: "990001-1000000"}
    batches = make_result([ChildSpan(i, 0, 100, "mixed", values=10) for i in range(3)], batch_size=10)
    assert [r.split()[0] for r in text_timeline(batches, ranges).splitlines()[2:]] == ["1-10", "11-20", "21-25"]


# -- end to end: the real bot, a real Temporal run, the fake Slack -------------------------------------------


async def test_a_run_gets_its_timeline_in_its_thread_after_the_summary(bot: BotUnderTest) -> None:
    from tests.test_bot_e2e import run_command, wait_summary

    _, _, _, run = await run_command(bot, "1-12", channel="C-timeline")
    workflow_id = run.metadata["event_payload"]["workflow_id"]
    await wait_summary(bot, "C-timeline", run.ts)
    name = f"{workflow_id}-timeline.png"
    await bot.fake.wait_for(lambda: any(f["filename"] == name for f in bot.fake.files), timeout=15)
    [f] = [f for f in bot.fake.files if f["filename"] == name]
    assert f["channel_id"] == "C-timeline" and f["thread_ts"] == run.ts
    assert png_size(f["content"])[0] == WIDTH_PX and workflow_id in f["title"]
    assert not f["initial_comment"]  # the thread stays clean: the summary already says it all
    [asked] = [c for c in bot.fake.calls_to("files.getUploadURLExternal") if c.params.get("filename") == name]
    assert int(asked.params["length"]) == len(f["content"])
    assert "Timeline of 12 child workflows: 6 succeeded, 6 failed" in asked.params["alt_txt"]
    calls = bot.fake.calls
    summary_at = max(i for i, c in enumerate(calls) if c.method == "chat.postMessage"
                     and c.params.get("thread_ts") == run.ts)
    upload_at = next(i for i, c in enumerate(calls) if c.method == "files.getUploadURLExternal"
                     and c.params.get("filename") == name)
    assert summary_at < upload_at
    summary = next(m for m in bot.fake.thread("C-timeline", run.ts) if (m.metadata or {}).get("event_type")
                   == "fanout_summary")
    assert "fanout_details" in str(summary.blocks)  # the picture is in the thread; the Details modal has the rest


async def test_a_failed_upload_is_retried_and_lands_once(bot: BotUnderTest) -> None:
    from tests.test_bot_e2e import run_command, wait_summary

    bot.fake.fail_next("files.getUploadURLExternal", status=500, match=lambda p: "timeline" in str(p.get("filename")))
    _, _, _, run = await run_command(bot, "1-10", channel="C-tl-retry")
    await wait_summary(bot, "C-tl-retry", run.ts)
    name = f"{run.metadata['event_payload']['workflow_id']}-timeline.png"
    await bot.fake.wait_for(lambda: any(f["filename"] == name for f in bot.fake.files), timeout=20)
    assert len([f for f in bot.fake.files if f["filename"] == name]) == 1
    assert any(c.method == "files.getUploadURLExternal" and "timeline" in str(c.params.get("filename"))
               for c in bot.fake.failed_calls)


async def test_a_chart_that_cannot_be_drawn_is_skipped_and_the_csv_still_comes(
        bot: BotUnderTest, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_bot_e2e import run_command, wait_summary

    def broken(result: FanoutResult, run_id: str) -> bytes:
        raise RuntimeError("no fonts")

    monkeypatch.setattr("bot.reporting.activities.render_timeline_png", broken)
    _, _, _, run = await run_command(bot, "1-60", channel="C-tl-broken")  # > 50 values: a CSV too
    run_id = run.metadata["event_payload"]["workflow_id"]
    await wait_summary(bot, "C-tl-broken", run.ts)
    await bot.fake.wait_for(lambda: any(f["filename"] == f"{run_id}.csv" for f in bot.fake.files), timeout=20)
    outcome = await client.get_workflow_handle(f"{run_id}-slack", result_type=ReportOutcome).result()
    assert outcome.stopped == "" and not [f for f in bot.fake.files if f["filename"] == f"{run_id}-timeline.png"]
