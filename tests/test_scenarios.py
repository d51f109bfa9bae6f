"""Scenarios as configuration (FANOUT_SCENARIOS, bot.language.scenario_file): a TOML file's scenarios are checked by
the real parser at start, run with their own options under the user's, are offered only in their channels, and show
in the help, the form, the Home and the CLI. A bad file is one start-up line naming the scenario, the field and the
problem, and exit 2: the real bot and CLI processes are run with one."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client

from bot.catalog import SCENARIOS, Catalog
from bot.home.daily_stats import DayTotals
from bot.home.view import HomeData, home_view
from bot.language.grammar import ParseError, RunCommand, parse
from bot.language.help import help_text
from bot.language.scenario_file import ScenarioError, load_scenarios
from bot.render.form import SCENARIO, FormContext, run_form, submitted
from bot.settings import Settings
from devkit.fake_slack.requests import app_home_opened, post_signed, slash_command_body, state_of
from devkit.fake_slack.web_api import FakeSlack, SlackLimits
from runtime.config import ConfigError
from tests.conftest import BOT_TOKEN, SIGNING_SECRET, BotUnderTest, serve_bot, settings_for_tests
from tests.entrypoints import PYTHON, ROOT, child_env, free_port, run
from tests.slack_asks import command, new_channel, text_of
from workflows.model import FanoutResult, ValueRange
from workflows.parent import ParentWorkflow

EXAMPLE = ROOT / "scenarios.example.toml"
HERE = "C0123ABCD"  # the example's nightly-load is offered only here
LIMIT = 1_000_000


def loaded(tmp_path: Path, text: str, max_values: int = LIMIT) -> Catalog:
    path = tmp_path / "scenarios.toml"
    path.write_text(text)
    return Catalog(SCENARIOS + load_scenarios(path, max_values=max_values))


def refusal(tmp_path: Path, text: str, max_values: int = LIMIT) -> str:
    with pytest.raises(ScenarioError) as refused:
        loaded(tmp_path, text, max_values)
    message = str(refused.value)
    assert "\n" not in message and "`" not in message  # one line of plain text
    return message


def run_of(text: str, catalog: Catalog) -> RunCommand:
    command = parse(text, max_values=LIMIT, catalog=catalog)
    assert isinstance(command, RunCommand), command
    return command


def example() -> Catalog:
    return Catalog(SCENARIOS + load_scenarios(EXAMPLE, max_values=LIMIT))


def test_the_example_file_loads_and_its_scenarios_run_with_their_options() -> None:
    catalog = example()
    assert [s.name for s in catalog.scenarios] == ["all-success", "all-failures", "large-scale", "flaky-retries",
                                                   "slow-sequential", "nightly-load"]
    flaky = run_of("scenario flaky-retries", catalog)
    assert (flaky.scenario, flaky.value_count, flaky.request.fail, flaky.request.max_attempts) == (
        "flaky-retries", 20, "rate:0.2", 3)
    slow = run_of("scenario SLOW-SEQUENTIAL", catalog).request
    assert slow.ranges == [ValueRange(1, 3), ValueRange(10, 16)] and slow.sequential
    assert (slow.delay_min_s, slow.delay_max_s) == (1, 3)
    nightly = run_of("scenario nightly-load", catalog.for_channel(HERE)).request
    assert (nightly.ranges, nightly.fail, nightly.batch_size) == ([ValueRange(1, 10_000)], "mod:7", 100)


def test_the_users_options_override_the_scenarios() -> None:
    catalog = example()
    request = run_of("scenario flaky-retries --retries 1 --delay 2", catalog).request
    assert (request.fail, request.max_attempts, request.delay_max_s) == ("rate:0.2", 1, 2)
    assert run_of("scenario flaky-retries --fail none", catalog).request.fail == "none"
    # The user's own options still follow the command's rules: once each, and no values of their own.
    twice = parse("scenario flaky-retries --retries 2 --retries 2", max_values=LIMIT, catalog=catalog)
    assert isinstance(twice, ParseError) and "given twice" in twice.problem
    values = parse("scenario flaky-retries 1-5", max_values=LIMIT, catalog=catalog)
    assert isinstance(values, ParseError) and "brings its own values" in values.problem
    # The lab's three are as they were.
    lab = run_of("scenario all-success", catalog)
    assert lab.request.ranges == [ValueRange(v, v) for v in (1, 3, 5, 7, 9)] and lab.request.fail == "even"


def test_a_scenario_limited_to_channels_is_refused_and_unlisted_elsewhere() -> None:
    catalog = example()
    elsewhere = catalog.for_channel("C0OTHER00")
    refused = parse("scenario nightly-load", max_values=LIMIT, catalog=elsewhere)
    assert isinstance(refused, ParseError) and refused.field == "scenario"
    assert "`nightly-load` is offered in other channels, not here" in refused.problem
    assert "`flaky-retries`" in refused.problem and HERE not in refused.problem
    assert "nightly-load" not in help_text(elsewhere) and "nightly-load" in help_text(catalog.for_channel(HERE))
    # A schedule of it is refused the same way.
    scheduled = parse("schedule every 1h scenario nightly-load", max_values=LIMIT, catalog=elsewhere)
    assert isinstance(scheduled, ParseError) and "offered in other channels" in scheduled.problem
    # No channel (the Home, the CLI): only scenarios offered everywhere.
    assert [s.name for s in catalog.for_channel("").scenarios][-2:] == ["flaky-retries", "slow-sequential"]


def test_the_help_the_form_and_the_home_list_a_channels_scenarios() -> None:
    here = example().for_channel(HERE)
    text = help_text(here)
    assert "◦ `flaky-retries`: 1-20 `--fail rate:0.2 --retries 3` — a fifth of the children fail" in text
    assert "◦ `all-success`: 1 3 5 7 9 — odd values, every child succeeds" in text  # the lab's line, unchanged
    form = run_form(context=FormContext(channel_id=HERE), catalog=here)
    menu = next(b for b in form["blocks"] if b.get("block_id") == SCENARIO)["element"]["options"]
    assert [o["value"] for o in menu] == [s.name for s in here.scenarios]
    assert all(len(o["text"]["text"]) <= 75 for o in menu)
    # What the form submits for a picked scenario is the scenario, with its own options.
    picked = submitted(state_of(form, **{SCENARIO: "nightly-load"}))
    assert picked.problem is None and run_of(picked.text, here).request.batch_size == 100
    home = home_view(HomeData("U1", [], [], DayTotals("2026-12-02")), example().for_channel(""))
    buttons = [e["value"] for b in home["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert buttons == ["new", "all-success", "all-failures", "large-scale", "flaky-retries", "slow-sequential"]


@pytest.mark.parametrize(("text", "expected"), [
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10"\noptions = "--retries 99"',
     'scenario "nightly", field "options": --retries 99: --retries needs a whole number 1-10'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10"\noptions = "--fial odd"',
     'scenario "nightly", field "options": Unknown option --fial.'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10"\noptions = "5 --fail odd"',
     'scenario "nightly", field "options": A scenario brings its own values; remove 5'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10"\noptions = "--approve"',
     'scenario "nightly", field "options": A scheduled run cannot wait for an approval'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10"\noptions = "--child write-file --fail odd"',
     'scenario "nightly", field "options": --fail shapes the lab\'s children; write-file fails'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-10 --retries 2"',
     'scenario "nightly", field "values": Values are numbers and ranges only; options go in'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "10-1"',
     'scenario "nightly", field "values": 10-1 runs downward'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = 7',
     'scenario "nightly", field "values": is a number; write values as /fanout takes them'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1-1001"',
     'scenario "nightly", field "values": That is 1,001 values; the limit is 1,000 per run (FANOUT_MAX_VALUES).'),
    ('[scenarios.nightly]\nvalues = "1-10"', 'scenario "nightly", field "description": missing'),
    ('[scenarios.nightly]\ndescription = ""\nvalues = "1-10"', 'scenario "nightly", field "description": needs one'),
    ('[scenarios.nightly]\ndescription = "n"\nvalue = "1-10"',
     'scenario "nightly", field "value": not a field of a scenario; its fields are description, values, options'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1"\nchannels = ["#general"]',
     'scenario "nightly", field "channels": \'#general\' is not a channel id'),
    ('[scenarios.nightly]\ndescription = "n"\nvalues = "1"\nchannels = []',
     'scenario "nightly", field "channels": an empty list would offer the scenario nowhere'),
    ('[scenarios.large-scale]\ndescription = "n"\nvalues = "1"',
     'scenario "large-scale": the lab\'s built-in scenario has this name'),
    ('[scenarios."Night Run"]\ndescription = "n"\nvalues = "1"', 'scenario "Night Run": a name is lowercase'),
    ('[scenarios]\nnightly = "1-10"', 'scenario "nightly": is a string; write it as a table, [scenarios.nightly]'),
    ('[scenario.nightly]\ndescription = "n"\nvalues = "1"', '"scenario" is not a setting of this file'),
    ('[scenarios.a]\ndescription = "n"\nvalues = "1"\n[scenarios.a]\nvalues = "2"', "not valid TOML: "),
])
def test_a_bad_file_names_the_scenario_the_field_and_the_problem(tmp_path: Path, text: str, expected: str) -> None:
    assert refusal(tmp_path, text, max_values=1000).startswith(expected)


def test_a_team_child_type_may_be_named_and_a_file_may_be_empty(tmp_path: Path) -> None:
    catalog = loaded(tmp_path, '[scenarios.files]\ndescription = "one file per value"\nvalues = [1, 2, "5-9"]\n'
                               'options = "--child write-file --batch 5"')
    assert catalog.scenario("files") is not None
    assert catalog.scenario("files").values == (ValueRange(1, 2), ValueRange(5, 9))  # type: ignore[union-attr]
    assert loaded(tmp_path, "# nothing yet\n").scenarios == SCENARIOS


def test_settings_read_the_file_and_turn_a_mistake_into_a_config_error(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FANOUT_SCENARIOS", raising=False)
    monkeypatch.delenv("FANOUT_MAX_VALUES", raising=False)
    assert Settings.from_env(require_slack=False).scenarios == ()
    monkeypatch.setenv("FANOUT_SCENARIOS", str(EXAMPLE))
    assert [s.name for s in Settings.from_env(require_slack=False).scenarios] == [
        "flaky-retries", "slow-sequential", "nightly-load"]
    monkeypatch.setenv("FANOUT_MAX_VALUES", "5000")  # nightly-load has 10,000 values: checked with the limit
    with pytest.raises(ConfigError, match=r'^FANOUT_SCENARIOS \(.*scenarios.example.toml\): scenario "nightly-load", '
                                          r'field "values": That is 10,000 values; the limit is 5,000'):
        Settings.from_env(require_slack=False)
    monkeypatch.setenv("FANOUT_SCENARIOS", str(tmp_path / "missing.toml"))
    with pytest.raises(ConfigError, match=r"missing.toml\): cannot read it: No such file or directory$"):
        Settings.from_env(require_slack=False)


BAD = '[scenarios.nightly]\ndescription = "the nightly check"\nvalues = "1-100"\noptions = "--retries 99"\n'
BAD_LINE = ('scenario "nightly", field "options": --retries 99: --retries needs a whole number 1-10: the maximum '
            "attempts per child (1 = no retry), e.g. --retries 3.")


async def test_the_bot_and_the_cli_stop_at_start_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = _write(tmp_path / "scenarios.toml", BAD)
    env = child_env(SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(free_port()),
                    TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", FANOUT_SCENARIOS=str(path))
    for args, prog in (([PYTHON, "-m", "bot"], "bot"), ([PYTHON, "-m", "bot.cli", "1-3"], "fanout")):
        code, out, err = await run(args, env)
        assert code == 2, err
        assert err.splitlines() == [f"{prog}: FANOUT_SCENARIOS ({path}): {BAD_LINE}"] and out == ""


async def test_the_cli_lists_and_runs_a_files_scenario(tmp_path: Path, temporal_address: str,
                                                       task_queue: str) -> None:
    (tmp_path / "scenarios.toml").write_text(
        '[scenarios.odd-ones]\ndescription = "odd values fail, retried once"\nvalues = "1-6"\n'
        'options = "--fail odd --retries 2"\n'
        '[scenarios.team-only]\ndescription = "only in one channel"\nvalues = "1"\nchannels = ["C0123ABCD"]\n')
    env = child_env(TEMPORAL_ADDRESS=temporal_address, FANOUT_TASK_QUEUE=task_queue,
                    FANOUT_SCENARIOS=str(tmp_path / "scenarios.toml"))
    code, out, err = await run([PYTHON, "-m", "bot.cli", "help"], env)
    assert code == 0, err
    assert "◦ `odd-ones`: 1-6 `--fail odd --retries 2` — odd values fail, retried once" in out
    assert "team-only" not in out  # the CLI has no channel
    code, out, err = await run([PYTHON, "-m", "bot.cli", "--json", "scenario", "odd-ones", "--fail", "even"], env)
    assert code == 0, err
    result = json.loads(out)
    assert (result["success_count"], result["failure_count"]) == (3, 3)  # the user's --fail over the scenario's
    assert all(f["attempts"] == 2 for f in result["failed_children"])  # the scenario's --retries 2 still applies
    code, _, err = await run([PYTHON, "-m", "bot.cli", "scenario", "team-only"], env)
    assert code == 2 and "offered in other channels, not here" in err


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(limits=SlackLimits.scaled(20)) as slack:
        yield slack


async def started_run(bot: BotUnderTest, text: str, channel: str) -> str:
    before = len(bot.fake.messages(channel))
    body = slash_command_body(text, user_id="U1", channel_id=channel, response_url=bot.fake.response_url(),
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    status, ack, _ = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200 and ack == "", ack
    await bot.fake.wait_for(lambda: len(bot.fake.messages(channel)) > before, timeout=15)
    return str(bot.fake.messages(channel)[before].metadata["event_payload"]["workflow_id"])  # type: ignore[index]


async def test_from_slack_a_scenario_runs_where_it_is_offered_and_is_refused_elsewhere(
        fake: FakeSlack, task_queue: str, temporal_address: str, client: Client, tmp_path: Path) -> None:
    here, other = "C0TEAM" + uuid.uuid4().hex[:4].upper(), new_channel()
    scenarios = load_scenarios(_write(tmp_path / "scenarios.toml",
                                      '[scenarios.odd-ones]\ndescription = "odd values fail"\nvalues = "1-6"\n'
                                      'options = "--fail odd"\n'
                                      f'[scenarios.team-only]\ndescription = "only for the team"\nvalues = "1-4"\n'
                                      f'options = "--fail none"\nchannels = ["{here}"]\n'), max_values=LIMIT)
    settings = settings_for_tests(fake.base_url, task_queue, scenarios=scenarios)
    async with serve_bot(settings, fake, temporal_address) as bot:
        helped_here, helped_there = [text_of(await command(bot, "help", c)) for c in (here, other)]
        assert "team-only" in helped_here and "odd-ones" in helped_here and "all-success" in helped_here
        assert "team-only" not in helped_there and "odd-ones" in helped_there
        refused = text_of(await command(bot, "scenario team-only", other))
        assert "offered in other channels, not here" in refused and here not in refused
        assert "offered in other channels" in text_of(await command(bot, "schedule every 1h scenario team-only",
                                                                    other))
        assert not [m for m in fake.messages(other) if m.thread_ts is None]  # nothing started there
        runs = [await started_run(bot, "scenario team-only", here),
                await started_run(bot, "scenario odd-ones --fail none", other)]
        results = await asyncio.gather(*(client.get_workflow_handle_for(ParentWorkflow.run, r).result()
                                         for r in runs))
        assert [(r.success_count, r.failure_count) for r in results] == [(4, 0), (6, 0)]
        assert isinstance(results[0], FanoutResult)
        # `/fanout` alone opens the form with the channel's scenarios.
        before = len(fake.views)
        await command_alone(bot, other)
        await fake.wait_for(lambda: len(fake.views) > before, timeout=5)
        menu = json.dumps(fake.views[-1]["view"])
        assert "odd-ones" in menu and "team-only" not in menu
        # The Home has no channel: its buttons offer the scenarios offered everywhere.
        user = "U" + uuid.uuid4().hex[:8].upper()
        status, _, _ = await post_signed(bot.url, app_home_opened(user), SIGNING_SECRET)
        assert status == 200
        await fake.wait_for(lambda: user in fake.home_tabs, timeout=15)
        buttons = [e["value"] for b in fake.home_tabs[user]["blocks"] if b["type"] == "actions"
                   for e in b["elements"]]
        assert buttons == ["new", "all-success", "all-failures", "large-scale", "odd-ones"]


async def command_alone(bot: BotUnderTest, channel: str) -> None:
    body = slash_command_body("", user_id="U1", channel_id=channel, response_url=bot.fake.response_url(),
                              trigger_id=f"trigger-{uuid.uuid4().hex}")
    status, _, _ = await post_signed(bot.url, body, SIGNING_SECRET)
    assert status == 200


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path
