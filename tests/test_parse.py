"""bot.language.grammar and bot.language.table: every command, option and error, plus properties (never raises,
values round-trip, user text never comes back unescaped)."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.catalog import LAB_CHILD_TYPES, SCENARIOS, Catalog, OfferedChildType
from bot.language import grammar as parse_module
from bot.language.grammar import (
    CancelCommand,
    DetailsCommand,
    HelpCommand,
    ListCommand,
    ParseError,
    RunCommand,
    ScheduleActionCommand,
    ScheduleCommand,
    SchedulesCommand,
    StatusCommand,
    parse,
)
from bot.language.help import command_text, help_text, usage_text
from bot.language.table import ECHO_LIMIT, EXAMPLES, OPTIONS, SUBCOMMANDS, show
from bot.mrkdwn import escape
from workflows.model import ChildPlugin, FanoutRequest, ValueRange
from workflows.values import iter_values

LIMIT = 1_000_000
TYPES = (RunCommand, HelpCommand, StatusCommand, CancelCommand, DetailsCommand, ListCommand, ScheduleCommand,
         SchedulesCommand, ScheduleActionCommand, ParseError)
RAW_AMP = re.compile(r"&(?!amp;|lt;|gt;)")


def run(text: str, max_values: int = LIMIT) -> RunCommand:
    command = parse(text, max_values=max_values)
    assert isinstance(command, RunCommand), command
    return command


def problem(text: str, max_values: int = LIMIT) -> str:
    command = parse(text, max_values=max_values)
    assert isinstance(command, ParseError), command
    assert "<" not in command.problem and ">" not in command.problem
    assert not RAW_AMP.search(command.problem)
    return command.problem


def values(text: str) -> list[int]:
    return list(iter_values(run(text).request.ranges))


# --- values ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 2 3 4 5", [1, 2, 3, 4, 5]),
        ("1,2,3", [1, 2, 3]),
        ("1, 2 ,3,,4", [1, 2, 3, 4]),
        ("1-5", [1, 2, 3, 4, 5]),
        ("3 1 2", [3, 1, 2]),
        ("2 2", [2, 2]),
        ("5-7 1 1-2", [5, 6, 7, 1, 1, 2]),
        ("-3", [-3]),
        ("-5--1", [-5, -4, -3, -2, -1]),
        ("-3-3", [-3, -2, -1, 0, 1, 2, 3]),
        ("-5..-1", [-5, -4, -3, -2, -1]),
        ("1..3", [1, 2, 3]),
        ("4-4", [4]),
        ("007", [7]),
        ("  1\t2\n3  ", [1, 2, 3]),
        ("1\u00a02", [1, 2]),
    ],
)
def test_values(text: str, expected: list[int]) -> None:
    assert values(text) == expected
    assert run(text).value_count == len(expected)


def test_consecutive_singles_are_compressed_in_order() -> None:
    assert run("1 2 3 5 4").request.ranges == [ValueRange(1, 3), ValueRange(5, 5), ValueRange(4, 4)]
    assert run("1 2 2 3").request.ranges == [ValueRange(1, 2), ValueRange(2, 3)]


def test_defaults_match_the_request_defaults() -> None:
    request = run("1").request
    assert request == FanoutRequest(ranges=[ValueRange(1, 1)])
    assert run("1").scenario == ""
    defaults = {o.name: o.default for o in OPTIONS}
    assert (defaults["fail"], defaults["retries"], defaults["child"]) == (
        request.fail,
        str(request.max_attempts),
        request.child_type,
    )


def test_large_ranges_are_counted_not_expanded() -> None:
    command = run("1-1000000 -1000000000000", max_values=10**7)
    assert command.value_count == 1_000_001
    assert problem("1-1000000000000").startswith("That is 1,000,000,000,000 values")


def test_value_limit_message() -> None:
    text = problem("1-2000000")
    assert "That is 2,000,000 values; the limit is 1,000,000 per run (FANOUT_MAX_VALUES)" in text
    assert "limit is 3 per run" in problem("1 2 3 4", max_values=3)
    assert run("1 2 3", max_values=3).value_count == 3


@pytest.mark.parametrize("text", ["1000000000001", "-1000000000001", "1-1000000000001", "9" * 5000, "-" + "1" * 40])
def test_values_out_of_range(text: str) -> None:
    assert "within ±1,000,000,000,000" in problem(text)


def test_values_at_the_bounds() -> None:
    assert values("1000000000000 -1000000000000") == [10**12, -(10**12)]


@pytest.mark.parametrize("text", ["5-1", "-1--5", "3..2"])
def test_downward_range(text: str) -> None:
    assert "write ranges low-high, e.g. `1-15`" in problem(text)


@pytest.mark.parametrize("text", ["1 abc", "1 1.5", "1 1-2-3", "1 -", "1 ..", "1 ٣", "1 +3", "1 1e3"])
def test_not_a_value(text: str) -> None:
    assert "is not a number or a range" in problem(text)


def test_dash_inside_range_gets_a_hint() -> None:
    assert "use a plain `-`" in problem("1—5")
    assert "use a plain `-`" in problem("1–5")


def test_no_values() -> None:
    assert "No values" in problem("--fail odd")
    assert "No values" in problem("--sequential")


def test_empty_text_is_an_error_not_help() -> None:
    for text in ("", "   ", ",", " , \n"):
        assert "give some values" in problem(text)


# --- options ----------------------------------------------------------------------------------


def test_every_option() -> None:
    request = run("1-3 --fail odd --retries 3 --delay 1.5-2 --sequential --batch 2 --child square").request
    assert request == FanoutRequest(
        ranges=[ValueRange(1, 3)],
        fail="odd",
        max_attempts=3,
        delay_min_s=1.5,
        delay_max_s=2.0,
        sequential=True,
        batch_size=2,
        child_type="square",
    )


@pytest.mark.parametrize("rule", ["even", "odd", "none", "mod:3", "rate:0.3", "rate:0", "rate:1", "mod:1"])
def test_fail_rules(rule: str) -> None:
    assert run(f"1 --fail {rule}").request.fail == rule
    assert run(f"1 --fail {rule.upper()}").request.fail == rule


@pytest.mark.parametrize(
    ("rule", "message"),
    [("mod:0", "`mod:N` needs N >= 1"), ("rate:2", "needs 0 <= P <= 1"), ("banana", "unknown failure rule")],
)
def test_bad_fail_rules_show_the_rule_error(rule: str, message: str) -> None:
    text = problem(f"1 --fail {rule}")
    assert text.startswith(f"`--fail {rule}`: ") and escape(message) in text  # `<=` arrives as `&lt;=`


def test_option_forms_and_positions() -> None:
    expected = run("1 2 3 --fail mod:3 --retries 2").request
    for text in (
        "--fail mod:3 --retries 2 1 2 3",
        "1 --fail=mod:3 2 --retries=2 3",
        "1 2 3 —fail mod:3 –retries 2",
        "1 2 3 —fail=mod:3 --RETRIES 2",
        "1,2,3,--fail,mod:3,--retries,2",
    ):
        assert run(text).request == expected, text


@pytest.mark.parametrize(("arg", "expected"), [("1", 1), ("10", 10), ("03", 3)])
def test_retries(arg: str, expected: int) -> None:
    assert run(f"1 --retries {arg}").request.max_attempts == expected


@pytest.mark.parametrize("arg", ["0", "11", "-1", "x", "2.5", "99999999999999999999999"])
def test_bad_retries(arg: str) -> None:
    assert "maximum attempts per child" in problem(f"1 --retries {arg}")


@pytest.mark.parametrize(
    ("arg", "lo", "hi"),
    [("2", 2.0, 2.0), ("0", 0.0, 0.0), ("0.5", 0.5, 0.5), ("1-5", 1.0, 5.0), ("1..5", 1.0, 5.0), ("0-3600", 0, 3600)],
)
def test_delay(arg: str, lo: float, hi: float) -> None:
    request = run(f"1 --delay {arg}").request
    assert (request.delay_min_s, request.delay_max_s) == (lo, hi)


@pytest.mark.parametrize("arg", ["5-1", "3601", "0-3601", "-1", "x", "nan", "inf", "1e3", "1.", ".5", "1-", "-"])
def test_bad_delay(arg: str) -> None:
    assert "`--delay` needs seconds S or a range A-B" in problem(f"1 --delay {arg}")


def test_batch() -> None:
    assert run("1-100 --batch 10").request.batch_size == 10
    assert run("1-100").request.batch_size == 0
    assert "at least 1" in problem("1 --batch 0")
    assert run("1-20000 --batch 10000").request.batch_size == 10_000
    assert "`--batch` is at most 10,000 values per child" in problem("1 --batch 10001")
    assert "`--batch` is at most 10,000" in problem("1 --batch 99999999999999999999999999")
    assert "would start 5,000 child workflows" in problem("1-5000 --batch 1")
    assert "use `--batch 5` or more" in problem("1-5000 --batch 1")


def test_child_types() -> None:
    assert run("1 --child square").request.child_type == "square"
    assert run("1 --child Double").request.child_type == "double"
    assert "No worker serves the child type `cube` right now; use double | square" in problem("1 --child cube")
    assert "is a name like" in problem("1 --child Cube!")


WRITER = OfferedChildType("write-file", "one file per value",
                          plugin=ChildPlugin("q.child.write-file", "PluginChildWorkflow", "write_value"))
TEAM = Catalog(child_types=LAB_CHILD_TYPES + (WRITER,))
COUNTDOWN = OfferedChildType("countdown", "a workflow", plugin=ChildPlugin("q.child.countdown", "CountdownWorkflow"))


def test_a_team_child_type_runs_without_the_labs_failures_and_delays() -> None:
    parsed = parse("1-3 --child write-file --retries 2", max_values=100, catalog=TEAM)
    assert isinstance(parsed, RunCommand)
    assert parsed.request.child_type == "write-file" and parsed.request.plugin == WRITER.plugin
    assert parsed.request.fail == "none" and parsed.request.max_attempts == 2
    assert not isinstance(parse(command_text(parsed.request), max_values=100, catalog=TEAM), ParseError)  # Run again
    for text, flag in (("1 --child write-file --fail even", "--fail"), ("1 --child write-file --delay 2", "--delay")):
        refused = parse(text, max_values=100, catalog=TEAM)
        assert isinstance(refused, ParseError) and f"`{flag}` shapes the lab's children" in refused.problem
    assert isinstance(parse("1 --child write-file", max_values=100), ParseError)  # not served: refused
    batched = parse("1-10 --child write-file --batch 5", max_values=10_000, catalog=TEAM)
    assert isinstance(batched, RunCommand) and batched.request.batch_size == 5
    many = parse("1-1000000 --child write-file", max_values=1_000_000, catalog=TEAM)
    assert isinstance(many, RunCommand) and many.request.batch_size == 1000  # a team's batches: 1,000 at most
    refused = parse("1-5000 --child write-file --batch 2000", max_values=10_000, catalog=TEAM)
    assert isinstance(refused, ParseError) and "at most 1,000 values per child" in refused.problem
    counting = Catalog(child_types=LAB_CHILD_TYPES + (COUNTDOWN,))
    for text in ("1-10 --child countdown --batch 5", "1-1001 --child countdown"):
        refused = parse(text, max_values=10_000, catalog=counting)
        assert isinstance(refused, ParseError) and "one child workflow per value" in refused.problem
    assert "`write-file` one file per value" in help_text(TEAM) and "write-file" not in help_text()


def test_sequential_flag() -> None:
    assert run("1 --sequential").request.sequential is True
    assert "is a flag and takes no value" in problem("1 --sequential=yes")


def test_repeated_option() -> None:
    assert "`--fail` is given twice" in problem("1 --fail odd --fail=even")
    assert "`--sequential` is given twice" in problem("1 --sequential —sequential")


@pytest.mark.parametrize("text", ["1 --fail", "1 --fail --sequential", "1 --fail=", "1 --batch"])
def test_option_missing_its_value(text: str) -> None:
    assert "needs a value" in problem(text)


@pytest.mark.parametrize("token", ["--bogus", "—bogus", "--", "-fail", "--fail-rule=odd"])
def test_unknown_option_lists_the_options(token: str) -> None:
    text = problem(f"1 {token}")
    assert f"Unknown option `{token}`" in text
    for option in OPTIONS:
        assert f"`--{option.name}`" in text
    assert ("options start with `--`" in text) == (token == "-fail")


# --- subcommands ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [("all-success", [1, 3, 5, 7, 9]), ("all-failures", [2, 4, 6, 8]), ("large-scale", list(range(1, 16)))],
)
def test_scenarios(name: str, expected: list[int]) -> None:
    command = run(f"scenario {name}")
    assert command.scenario == name
    assert list(iter_values(command.request.ranges)) == expected
    assert command.value_count == len(expected)
    assert command.request.fail == "even"
    assert run(f"SCENARIO {name.upper()}").scenario == name


def test_scenario_with_options() -> None:
    request = run("scenario large-scale --sequential --fail mod:3 --batch 5").request
    assert (request.sequential, request.fail, request.batch_size) == (True, "mod:3", 5)


def test_scenario_errors() -> None:
    assert "`scenario` needs a name" in problem("scenario")
    text = problem("scenario nope")
    assert "Unknown scenario `nope`" in text and all(f"`{s.name}`" in text for s in SCENARIOS)
    assert "brings its own values" in problem("scenario all-success 11")
    assert "`--fail` is given twice" in problem("scenario all-success --fail odd --fail odd")
    assert "limit is 10 per run" in problem("scenario large-scale", max_values=10)


def test_help_list_status_cancel() -> None:
    assert parse("help", max_values=LIMIT) == HelpCommand()
    assert parse("  HeLp  ", max_values=LIMIT) == HelpCommand()
    assert parse("help fail", max_values=LIMIT) == HelpCommand()
    assert parse("list", max_values=LIMIT) == ListCommand()
    assert parse("status fanout-1a2b-3c", max_values=LIMIT) == StatusCommand("fanout-1a2b-3c")
    assert parse("Cancel fanout-X9", max_values=LIMIT) == CancelCommand("fanout-X9")
    assert parse("status a.b_c:d-1", max_values=LIMIT) == StatusCommand("a.b_c:d-1")
    assert parse("details fanout-1a2b-3c", max_values=LIMIT) == DetailsCommand("fanout-1a2b-3c")


@pytest.mark.parametrize("name", ["status", "cancel", "details"])
def test_run_id_errors(name: str) -> None:
    assert f"`{name}` needs a run id, e.g. `/fanout {name} fanout-" in problem(name)
    assert "takes one run id, not 2 words" in problem(f"{name} a b")
    for bad in ("-fanout", "fanout/1", "x" * 202, "<@U1>"):
        assert "is not a run id" in problem(f"{name} {bad}")


def test_list_takes_no_arguments() -> None:
    assert "`list` takes nothing after it" in problem("list all")


def test_unknown_command() -> None:
    text = problem("run 1 2 3")
    assert "Unknown command `run`" in text and all(f"`{s.name}`" in text for s in SUBCOMMANDS)


def test_every_subcommand_has_a_parser() -> None:
    assert set(parse_module._SUBCOMMAND_PARSERS) == {s.name for s in SUBCOMMANDS}


# --- escaping ---------------------------------------------------------------------------------


def test_escape_mrkdwn() -> None:
    assert escape("a & <b> &amp;") == "a &amp; &lt;b&gt; &amp;amp;"


@pytest.mark.parametrize(
    "text",
    ["<!channel>", "1 <!channel>", "1 <@U1>", "status <!here>", "cancel <@U1|bob>", "scenario <!channel>",
     "1 --fail <!channel>", "1 --<!channel>", "1 --child <@U1>", "1 --delay <!channel>", "1 --retries <@U1>",
     "1 --batch <!channel>", "list <!channel>", "<https://evil.example|click>", "1 a&b", "1 --fail=&<>"],
)  # fmt: skip
def test_user_text_comes_back_escaped(text: str) -> None:
    message = problem(text)  # asserts no raw < > &
    assert "<!channel>" not in message and "<@U1" not in message
    if "!channel" in text:
        assert "&lt;!channel&gt;" in message


def test_slack_entities_are_decoded_then_escaped_once() -> None:
    assert "`&lt;!channel&gt;`" in problem("1 &lt;!channel&gt;")
    assert "`a&amp;b`" in problem("1 a&amp;b")


def test_long_tokens_are_truncated() -> None:
    text = problem("1 " + "<" * 500)
    assert "…" in text and text.count("&lt;") == ECHO_LIMIT - 1
    assert show("x" * 100) == "`" + "x" * (ECHO_LIMIT - 1) + "…`"
    assert show("a`b") == "`a'b`"


# --- help and usage ---------------------------------------------------------------------------


def test_help_text() -> None:
    text = help_text()
    assert len(text) < 2900
    assert "<" not in text and ">" not in text
    for option in OPTIONS:
        assert f"`--{option.name}" in text and option.help in text
    for sub in SUBCOMMANDS:
        assert f"`/fanout {sub.name}" in text
    for scenario in SCENARIOS:
        assert f"`{scenario.name}`" in text
    assert "maximum attempts per child" in text
    for example in ("--fail mod:3", "--fail rate:0.3 --retries 3", "--delay 1-5", "--child square", "--batch 10"):
        assert example in text
    assert "--sequential`" in text


def test_help_examples_parse() -> None:
    for line in help_text().splitlines():
        for example in re.findall(r"`/fanout ([^`]*)`", line):
            if "&lt;" not in example and "|" not in example:
                assert not isinstance(parse(example, max_values=LIMIT), ParseError), example


def test_usage_text() -> None:
    text = usage_text()
    assert 3 <= len(text.splitlines()) <= 6
    assert "`/fanout help`" in text and "<" not in text and ">" not in text
    assert all(f"/fanout {s.name}" in text for s in SUBCOMMANDS)


# --- properties -------------------------------------------------------------------------------

VOCAB = [s.name for s in SUBCOMMANDS] + [s.name for s in SCENARIOS]
VOCAB += [f"{dash}{o.name}" for o in OPTIONS for dash in ("--", "—", "–", "-")]
VOCAB += ["1", "-3", "1-15", "-5--1", "5-1", "-5..-1", "1e9", "=", "--", "—", "-", "..", ",", "&", "&amp;", "&lt;"]
VOCAB += ["<!channel>", "<@U1>", "odd", "mod:3", "rate:0.3", "square", "1-5", "0", "3601", "fanout-1", "`", "…"]
token_soup = st.lists(st.one_of(st.sampled_from(VOCAB), st.text(max_size=8)), max_size=12).map(
    lambda tokens: " ".join(tokens)
)


def check_result(result: object) -> None:
    assert isinstance(result, TYPES)
    if isinstance(result, ParseError):
        assert result.problem
        assert "<" not in result.problem and ">" not in result.problem
        assert not RAW_AMP.search(result.problem)


@settings(max_examples=500)
@given(st.text())
def test_any_text_never_raises(text: str) -> None:
    check_result(parse(text, max_values=LIMIT))


@settings(max_examples=500)
@given(token_soup, st.integers(min_value=1, max_value=10**7))
def test_token_soup_never_raises(text: str, max_values: int) -> None:
    check_result(parse(text, max_values=max_values))


@given(st.text(), st.text(), st.sampled_from(["<!channel>", "<!here>", "<@U1>", "<#C1|general>"]))
def test_mentions_never_come_back_raw(before: str, after: str, mention: str) -> None:
    result = parse(f"{before}{mention}{after}", max_values=LIMIT)
    if isinstance(result, ParseError):
        assert mention not in result.problem


@given(
    st.lists(st.integers(min_value=-(10**12), max_value=10**12), min_size=1, max_size=50),
    st.lists(st.sampled_from([" ", ",", ", ", " ,", "  ", "\t", "\n", ",,"]), min_size=50, max_size=50),
)
def test_int_lists_round_trip(ints: list[int], seps: list[str]) -> None:
    text = "".join(f"{n}{sep}" for n, sep in zip(ints, seps, strict=False))
    command = run(text)
    assert list(iter_values(command.request.ranges)) == ints
    assert command.value_count == len(ints)


@given(
    st.lists(st.integers(min_value=-50, max_value=50), min_size=1, max_size=10),
    st.permutations(["--fail mod:3", "--retries=2", "—sequential", "--delay 0-1", "--child square"]),
    st.randoms(use_true_random=False),
)
def test_options_anywhere(ints: list[int], options: list[str], rng: random.Random) -> None:
    tokens = [str(n) for n in ints]
    for option in options:
        tokens.insert(rng.randrange(len(tokens) + 1), option)
    request = run(" ".join(tokens)).request
    assert list(iter_values(request.ranges)) == ints
    assert (request.fail, request.max_attempts, request.sequential, request.child_type) == ("mod:3", 2, True, "square")
    assert (request.delay_min_s, request.delay_max_s) == (0.0, 1.0)


# --- command_text: a request back to the text that makes it (what a retry records) -------------


@pytest.mark.parametrize(
    "text",
    [
        "1 2 3",
        "1-15 --fail mod:3 --retries 3",
        "-5..-1 7 -3-3 --delay 0.5-2 --sequential --batch 3 --child square",
        "2 4 6 --fail rate:0.3",
        "1 --delay 2 --fail none",
        "1 --delay 0.125",
    ],
)
def test_command_text_round_trips(text: str) -> None:
    request = run(text).request
    assert run(command_text(request)).request == request


def test_command_text_writes_defaults_as_nothing_and_stays_short() -> None:
    assert command_text(FanoutRequest(ranges=[ValueRange(2, 2), ValueRange(4, 4)])) == "2 4"
    many = FanoutRequest(ranges=[ValueRange(v, v) for v in range(0, 200_000, 2)], fail="odd")
    text = command_text(many)
    assert len(text) < 2100 and text.endswith("more ranges) --fail odd")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-10**6, 10**6), st.integers(0, 5)), min_size=1, max_size=8),
    st.sampled_from(["even", "odd", "none", "mod:4", "rate:0.25"]),
    st.integers(1, 10),
    st.booleans(),
    st.sampled_from(["double", "square"]),
)
def test_command_text_round_trips_any_request(spans, fail, attempts, sequential, child) -> None:
    request = FanoutRequest(ranges=[ValueRange(a, a + n) for a, n in spans], fail=fail, max_attempts=attempts,
                            sequential=sequential, child_type=child)
    again = run(command_text(request)).request
    assert list(iter_values(again.ranges)) == list(iter_values(request.ranges))
    assert (again.fail, again.max_attempts, again.sequential, again.child_type) == (fail, attempts, sequential, child)


# --- schedules and approvals ----------------------------------------------------------------------


def schedule(text: str) -> ScheduleCommand:
    command = parse(text, max_values=LIMIT)
    assert isinstance(command, ScheduleCommand), command
    return command


def test_a_schedule_every_interval_runs_an_ordinary_run() -> None:
    command = schedule("schedule every 1h 1-10 --fail rate:0.2")
    assert (command.when.every_s, command.when.cron, command.when.text) == (3600.0, "", "every 1h")
    assert command.run == run("1-10 --fail rate:0.2") and command.run_text == "1-10 --fail rate:0.2"
    assert schedule("schedule EVERY 2d 1").when.every_s == 2 * 86400


@pytest.mark.parametrize("quote", ['"{}"', "“{}”", "'{}'"])
def test_a_cron_schedule_in_any_quotes_defaults_to_utc(quote: str) -> None:
    command = schedule("schedule " + quote.format("0 9 * * MON-FRI") + " scenario large-scale")
    assert (command.when.cron, command.when.time_zone) == ("0 9 * * MON-FRI", "UTC")
    assert command.run.scenario == "large-scale" and command.when.text == '"0 9 * * MON-FRI" (UTC)'


@pytest.mark.parametrize("tz", ["--tz Europe/Paris", "--tz=Europe/Paris"])
def test_a_cron_schedule_takes_a_time_zone_anywhere_after_it(tz: str) -> None:
    before = schedule(f'schedule "30 8 * * *" {tz} 1-3 --retries 2')
    after = schedule(f'schedule "30 8 * * *" 1-3 --retries 2 {tz}')
    for command in (before, after):
        assert command.when.time_zone == "Europe/Paris" and command.run == run("1-3 --retries 2")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("schedule", "needs when and what to run"),
        ("schedule every 1h", "needs something to run"),
        ("schedule every 30s 1-3", "at least 1m"),
        ("schedule every soon 1-3", "`every soon`"),
        ("schedule tomorrow 1-3", "`tomorrow` is not `every N`"),
        ('schedule "0 9 * *" 1-3', "5 fields"),
        ('schedule "0 9 * * MON-FRI 1-3', "no closing quote"),
        ('schedule "61 9 * * *" 1-3', "`61` is not a valid minute (0-59"),
        ('schedule "0 24 * * *" 1-3', "not a valid hour"),
        ('schedule "0 9 0 * *" 1-3', "not a valid day of month"),
        ('schedule "0 9 * 13 *" 1-3', "not a valid month (1-12 or JAN-DEC"),
        ('schedule "0 9 * * FUN" 1-3', "not a valid weekday"),
        ('schedule "*/0 9 * * *" 1-3', "not a valid minute"),
        ('schedule "0 9 * * *" --tz Mars/Base 1-3', "IANA time zone"),
        ("schedule every 1h --tz Europe/Paris 1-3", "for cron times"),
        ("schedule every 1h 1-3 --approve", "cannot wait for an approval"),
        ("schedule every 1h 1-3 --bogus", "--bogus"),
        ("schedule every 1h <@U1> &", "&lt;@U1&gt;"),
    ],
)
def test_bad_schedules_say_what_is_wrong_and_show_an_example(text: str, says: str) -> None:
    said = problem(text)
    assert says in said
    if "--bogus" not in says and "&lt;" not in says:
        assert "/fanout schedule every 1h 1-10" in said or "--tz Europe/Paris" in said or "approval" in said


@pytest.mark.parametrize("action", ["pause", "resume", "trigger", "delete"])
def test_schedule_actions_take_one_id(action: str) -> None:
    assert parse(f"{action} fanout-sch-0123456789", max_values=LIMIT) == ScheduleActionCommand(
        action, "fanout-sch-0123456789")
    assert "takes one schedule id" in problem(action)
    assert "takes one schedule id" in problem(f"{action} a b")
    assert parse("schedules", max_values=LIMIT) == SchedulesCommand()


def test_approve_waits_an_hour_unless_told_and_stays_off_the_parent_request() -> None:
    assert run("1-5").approve_timeout_s == 0
    assert run("1-100000 --approve").approve_timeout_s == 3600
    timed = run("1-5 --approve-timeout 30m")
    assert timed.approve_timeout_s == 1800 and timed.request == run("1-5").request
    assert run("1-5 --approve-timeout 10s").approve_timeout_s == 10
    assert run("1-5 --approve-timeout 7d").approve_timeout_s == 7 * 86400


@pytest.mark.parametrize("duration", ["5s", "8d", "soon", "0", "-1h"])
def test_approve_timeouts_out_of_range_are_refused(duration: str) -> None:
    assert "from 10s to 7d" in problem(f"1-5 --approve-timeout {duration}")


def test_the_help_lists_schedules_and_approvals_from_the_command_table() -> None:
    text = help_text()
    for word in ("schedule every", "schedules", "pause", "resume", "trigger", "delete", "--approve",
                 "--approve-timeout"):
        assert word in text, word


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.title for e in EXAMPLES])
def test_every_example_in_the_help_parses(example) -> None:  # type: ignore[no-untyped-def]
    assert not isinstance(parse(example.text, max_values=1_000_000), ParseError)
