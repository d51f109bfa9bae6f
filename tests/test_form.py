"""The run form (bot.render.form) and the Home tab (bot.home.view): pure. The form offers what the command table
offers, a filled-in form submits the /fanout text that makes the same request, and errors land on the
field they are about. Every view passes slack_sdk's view and block models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.models.views import View

from bot.catalog import SCENARIOS, Catalog, Scenario
from bot.home.daily_stats import DayTotals
from bot.home.view import LISTED, NEW_RUN_ACTIONS, HomeData, HomeRun, home_view
from bot.language.grammar import ParseError, RunCommand, parse
from bot.language.help import command_text
from bot.language.table import OPTIONS
from bot.render.form import (
    CHANNEL,
    SCENARIO,
    VALUES,
    FormContext,
    argument_block,
    inline_errors,
    option_block,
    run_form,
    submitted,
)
from devkit.fake_slack.requests import state_of
from workflows.model import FanoutRequest, Progress, ValueRange
from workflows.rules import CHILD_TYPES


def valid(view: dict[str, Any]) -> dict[str, Any]:
    View(**view).validate_json()  # raises SlackObjectFormationError when Slack would refuse it
    return view


def blocks_by_id(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b.get("block_id")}


def test_the_form_offers_exactly_the_command_table() -> None:
    view = valid(run_form(context=FormContext(channel_id="C1")))
    blocks = blocks_by_id(view)
    for option in OPTIONS:
        assert option_block(option) in blocks, option.name
        if option.form.takes_argument:
            assert argument_block(option) in blocks
    assert [o["value"] for o in blocks[SCENARIO]["element"]["options"]] == [s.name for s in SCENARIOS]
    child = blocks[option_block(next(o for o in OPTIONS if o.name == "child"))]["element"]
    assert [o["value"] for o in child["options"]] == list(CHILD_TYPES)
    fail = blocks[option_block(next(o for o in OPTIONS if o.name == "fail"))]["element"]
    assert {o["value"] for o in fail["options"]} == {"even", "odd", "none", "mod", "rate"}
    assert fail["initial_option"]["value"] == "even"  # the command table's default
    assert CHANNEL not in blocks  # opened in a channel: no need to ask
    assert CHANNEL in blocks_by_id(valid(run_form(context=FormContext())))  # a global shortcut: ask
    assert view["callback_id"] == "fanout_form" and len(view["blocks"]) <= 100


def test_a_filled_in_form_is_the_slash_commands_text() -> None:
    view = run_form(context=FormContext(channel_id="C1"))
    fail = next(o for o in OPTIONS if o.name == "fail")
    seq = next(o for o in OPTIONS if o.name == "sequential")
    sub = submitted(state_of(view, **{VALUES: "1-5 8", option_block(fail): "mod", argument_block(fail): "3",
                                      option_block(seq): "sequential"}))
    assert sub.text == "1-5 8 --fail mod:3 --sequential" and sub.problem is None
    parsed = parse(sub.text, max_values=100)
    assert isinstance(parsed, RunCommand) and parsed.request.fail == "mod:3" and parsed.request.sequential
    # Defaults add nothing: the text is what someone would type.
    assert submitted(state_of(view, **{VALUES: "1 2 3"})).text == "1 2 3"
    assert submitted(state_of(view, **{SCENARIO: "large-scale"})).text == "scenario large-scale"


def test_values_and_scenario_are_one_or_the_other() -> None:
    view = run_form(context=FormContext(channel_id="C1"))
    both = submitted(state_of(view, **{VALUES: "1 2", SCENARIO: "all-success"}))
    assert both.problem is not None and inline_errors(both.problem, both) == {
        SCENARIO: "Give values or pick a scenario, not both."}
    neither = submitted(state_of(view))
    assert neither.problem is not None and set(inline_errors(neither.problem, neither)) == {VALUES}


def test_parse_errors_land_on_their_field() -> None:
    view = run_form(context=FormContext(channel_id="C1"))
    fail, delay, batch, retries = (next(o for o in OPTIONS if o.name == n)
                                   for n in ("fail", "delay", "batch", "retries"))
    cases = [
        ({VALUES: "abc"}, VALUES),
        ({VALUES: "1-5", option_block(fail): "mod", argument_block(fail): "x"}, argument_block(fail)),
        ({VALUES: "1-5", option_block(fail): "rate", argument_block(fail): "2"}, argument_block(fail)),
        ({VALUES: "1-5", option_block(delay): "99999"}, option_block(delay)),
        ({VALUES: "1-5", option_block(delay): "5-1"}, option_block(delay)),
        ({VALUES: "1-5", option_block(batch): "0"}, option_block(batch)),
        ({VALUES: "1-5000", option_block(batch): "1"}, option_block(batch)),
        ({VALUES: "1-5", option_block(retries): "99"}, option_block(retries)),
        ({VALUES: "1-2000000"}, VALUES),
    ]
    for typed, field in cases:
        sub = submitted(state_of(view, **typed))
        parsed = sub.problem or parse(sub.text, max_values=1_000_000)
        assert isinstance(parsed, ParseError), typed
        errors = inline_errors(parsed, sub)
        assert list(errors) == [field], (typed, errors)
        assert errors[field] and "`" not in errors[field] and len(errors[field]) <= 300


_ranges = st.lists(st.integers(-50, 500), min_size=1, max_size=6).map(
    lambda vs: [ValueRange(v, v + abs(v) % 4) for v in vs])
_requests = st.builds(
    FanoutRequest, ranges=_ranges,
    fail=st.sampled_from(["even", "odd", "none", "mod:3", "mod:7", "rate:0.25", "rate:1"]),
    max_attempts=st.integers(1, 10), delay_min_s=st.just(0.0), delay_max_s=st.sampled_from([0.0]),
    sequential=st.booleans(), batch_size=st.sampled_from([0, 2, 5]), child_type=st.sampled_from(list(CHILD_TYPES)))


@settings(max_examples=60, deadline=None)
@given(_requests, st.sampled_from([(0.0, 0.0), (2.0, 2.0), (1.0, 5.0), (0.5, 1.5)]))
def test_edit_and_run_round_trips_every_request(request: FanoutRequest, delay: tuple[float, float]) -> None:
    """A form filled in from a request (Edit and run), submitted untouched, parses to the same request."""
    request.delay_min_s, request.delay_max_s = delay
    view = valid(run_form(context=FormContext(channel_id="C1"), request=request))
    sub = submitted(state_of(view))
    parsed = parse(sub.text, max_values=1_000_000)
    assert isinstance(parsed, RunCommand), (sub.text, parsed)
    again = parsed.request
    assert (again.fail, again.max_attempts, again.delay_min_s, again.delay_max_s, again.sequential,
            again.batch_size, again.child_type) == (request.fail, request.max_attempts, request.delay_min_s,
                                                   request.delay_max_s, request.sequential, request.batch_size,
                                                   request.child_type)
    assert command_text(again) == command_text(request)


def test_a_scenario_button_preselects_its_scenario() -> None:
    view = valid(run_form(context=FormContext(), scenario="all-failures"))
    assert blocks_by_id(view)[SCENARIO]["element"]["initial_option"]["value"] == "all-failures"
    assert submitted(state_of(view)).text == "scenario all-failures"


def test_form_context_survives_private_metadata() -> None:
    context = FormContext(channel_id="C9", thread_ts="123.456")
    assert FormContext.decode(run_form(context=context)["private_metadata"]) == context
    assert FormContext.decode("not json") == FormContext() and FormContext.decode(None) == FormContext()


# -- the Home tab ------------------------------------------------------------------------------------------


def home_run(i: int, status: str = "completed", **kw: Any) -> HomeRun:
    return HomeRun(run_id=f"fanout-{i:012d}", channel_id="C1", status=status, text="1-5 <!channel>",
                   started=datetime(2026, 12, 2, 9, 0, tzinfo=UTC), thread_url="https://x.slack.com/archives/C1/p1",
                   ui_url="http://localhost:8233/x", **kw)


def test_the_home_tab_shows_runs_totals_and_buttons_within_slacks_limits() -> None:
    data = HomeData("U1", running=[home_run(i, "running", progress=Progress(total=10, succeeded=3, failed=1,
                                                                            running=6, elapsed_s=4.0))
                                   for i in range(30)],
                    finished=[home_run(100 + i, success_rate=0.6, wall_s=12.0) for i in range(30)],
                    today=DayTotals("2026-12-02", runs=12, values=3400, succeeded=2000, failed=1400))
    view = valid(home_view(data))
    text = str(view)
    assert view["type"] == "home" and len(view["blocks"]) <= 100 and len(text) < 250_000
    assert text.count("fanout-0000000000") == LISTED  # at most LISTED of the runs going ...
    assert "*4* of *10* done" in text and "60% succeeded" in text and "12 min" not in text
    assert "*12* runs" in text and "*3,400* values" in text and "58.8%" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text  # user text escaped
    buttons = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["value"] for b in buttons] == ["new"] + [s.name for s in SCENARIOS]


def test_each_home_button_has_its_own_action_id_and_the_one_listener_matches_them_all() -> None:
    # Slack refuses an actions block whose elements share an action_id, and then the Home tab never appears.
    many = Catalog(SCENARIOS + tuple(Scenario(f"team-{i:02d}", (ValueRange(1, 5),), "d") for i in range(30)))
    view = home_view(HomeData("U1", [], [], DayTotals("2026-12-02")), many)
    [buttons] = [b["elements"] for b in view["blocks"] if b["type"] == "actions"]
    ids = [b["action_id"] for b in buttons]
    assert len(ids) == 25 and len(set(ids)) == 25  # New run and 24 scenarios: an actions block holds 25
    assert all(NEW_RUN_ACTIONS.search(i) for i in ids)
    assert not NEW_RUN_ACTIONS.search("fanout_new_run_x") and not NEW_RUN_ACTIONS.search("x:fanout_new_run")


def test_an_empty_home_tab_says_how_to_start() -> None:
    view = valid(home_view(HomeData("U1", [], [], DayTotals("2026-12-02"))))
    text = str(view)
    assert "none right now" in text and "none yet" in text and "*0* runs" in text and "success rate" not in text
