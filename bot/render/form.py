"""The run form: a modal built from the command table (bot.language.table), read back as /fanout text. Pure.

The form offers exactly what the parser accepts — the same options, defaults, choices and scenarios —
and a submission becomes the /fanout text the slash command would have typed, parsed by the same
parser (bot.language.grammar). A parse error comes back on the field it is about (``inline_errors``). So the form,
the help and the parser cannot disagree.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
    StaticSelectElement,
)
from slack_sdk.models.blocks import Option as MenuOption
from slack_sdk.models.views import View

from bot.catalog import LAB, Catalog
from bot.language.grammar import ParseError
from bot.language.help import option_text, values_text
from bot.language.table import OPTIONS, Option, options
from bot.mrkdwn import mrkdwn_to_text
from workflows.model import FanoutRequest

CALLBACK_ID = "fanout_form"
VALUES, SCENARIO, CHANNEL = "values", "scenario", "channel"
ACTION = "input"  # every field's action id (one input per block)
ERROR_MAX = 300


def option_block(option: Option) -> str:
    return f"opt_{option.name}"


def argument_block(option: Option) -> str:
    return f"opt_{option.name}_arg"


@dataclass(frozen=True)
class FormContext:
    """What the form remembers between opening and submitting (its private_metadata)."""

    channel_id: str = ""  # the run's channel when the form was opened in one; "" -> the form asks
    thread_ts: str = ""

    def encode(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def decode(cls, raw: str | None) -> FormContext:
        try:
            data = json.loads(raw or "{}")
            return cls(channel_id=str(data.get("channel_id", "")), thread_ts=str(data.get("thread_ts", "")))
        except (ValueError, AttributeError):
            return cls()


def _plain(text: str) -> PlainTextObject:
    return PlainTextObject(text=text[:150])


def _menu(value: str, label: str) -> MenuOption:
    return MenuOption(value=value, label=label[:75])


def _initial_fail(shown: str) -> tuple[str, str]:
    kind, _, arg = shown.partition(":")
    return kind, arg


def _option_blocks(option: Option, request: FanoutRequest | None) -> list[Block]:
    field = option.form
    shown = option.shown(request) if request is not None else ""
    value = shown or option.default
    if field.widget in ("select", "radio"):
        kind, arg = _initial_fail(value) if field.takes_argument else (value, "")
        options = [_menu(c.value, c.label) for c in field.choices]
        initial = next((o for o in options if o.value == kind), options[0])
        widget = StaticSelectElement if field.widget == "select" else RadioButtonsElement
        element: Any = widget(action_id=ACTION, options=options, initial_option=initial)
        blocks: list[Block] = [InputBlock(block_id=option_block(option), label=field.label, element=element)]
        if field.takes_argument:
            blocks.append(InputBlock(
                block_id=argument_block(option), label=field.argument, optional=True,
                element=PlainTextInputElement(action_id=ACTION, initial_value=arg or None,
                                              placeholder=_plain(", ".join(field.takes_argument) + " only"))))
        return blocks
    if field.widget == "number":
        element = NumberInputElement(action_id=ACTION, is_decimal_allowed=False, initial_value=value,
                                     min_value=field.minimum, max_value=field.maximum)
    else:
        element = PlainTextInputElement(action_id=ACTION, initial_value=shown or None,
                                        placeholder=_plain(field.placeholder) if field.placeholder else None)
    return [InputBlock(block_id=option_block(option), label=field.label, element=element, optional=True,
                       hint=_plain(f"{option.syntax} — {mrkdwn_to_text(option.help, plain=True)}"))]


def run_form(*, context: FormContext, request: FanoutRequest | None = None, scenario: str = "",
             catalog: Catalog = LAB) -> dict[str, Any]:
    """The modal: values or a scenario, every option of the command table, and the channel when the form
    was opened where none is known (a global shortcut, the App Home). ``request`` fills it in
    (Edit and run); ``scenario`` picks one (a scenario button); ``catalog`` offers the scenarios and
    child types there are."""
    blocks: list[Block] = [ContextBlock(elements=[MarkdownTextObject(
        text="The same run as `/fanout <values> [options]`: a parent workflow starts one child workflow per "
             "value, and the summary follows in the run's thread.")])]
    blocks.append(InputBlock(
        block_id=VALUES, label="Values", optional=True,
        hint=_plain("Integers, ranges and negatives: 1 2 3, 1-15, -5..-1. Or pick a scenario below."),
        element=PlainTextInputElement(action_id=ACTION, placeholder=_plain("1-15"),
                                      initial_value=values_text(request) if request and not scenario else None)))
    choices = [_menu(s.name, f"{s.name}: {s.help}") for s in catalog.scenarios]
    picked = next((c for c in choices if c.value == scenario), None)
    blocks.append(InputBlock(block_id=SCENARIO, label="…or a scenario", optional=True,
                             element=StaticSelectElement(action_id=ACTION, options=choices, initial_option=picked,
                                                         placeholder=_plain("Choose a scenario"))))
    for option in options(catalog):
        blocks += _option_blocks(option, request)
    if not context.channel_id:
        blocks.append(InputBlock(
            block_id=CHANNEL, label="Channel to run it in",
            hint=_plain("The run's message and its summary go there; the bot must be a member (/invite @fanout)."),
            element=ConversationSelectElement(action_id=ACTION, default_to_current_conversation=True,
                                              filter=ConversationFilter(include=["public", "private"],
                                                                        exclude_bot_users=True))))
    view = View(type="modal", callback_id=CALLBACK_ID, title="Start a fan-out", submit="Start", close="Cancel",
                private_metadata=context.encode(), blocks=blocks)
    return view.to_dict()


def _field(values: dict[str, Any], block: str) -> str:
    state = (values.get(block) or {}).get(ACTION) or {}
    if state.get("selected_option"):
        return str(state["selected_option"].get("value", ""))
    if state.get("selected_conversation"):
        return str(state["selected_conversation"])
    return str(state.get("value") or "").strip()


@dataclass(frozen=True)
class Submission:
    text: str  # the /fanout text the form stands for
    scenario: str
    channel_id: str  # from the channel select ("" when the form knew its channel)
    selected: dict[str, str]  # option name -> the choice made in its select or radio buttons
    problem: ParseError | None = None  # values and scenario both given, or neither


def submitted(values: dict[str, Any]) -> Submission:
    """A view_submission's ``view.state.values`` as /fanout text."""
    scenario, raw_values = _field(values, SCENARIO), _field(values, VALUES)
    parts = [f"scenario {scenario}" if scenario else raw_values]
    selected: dict[str, str] = {}
    for option in OPTIONS:
        value = _field(values, option_block(option))
        if option.form.choices:
            selected[option.name] = value
        if option.form.takes_argument and value in option.form.takes_argument:
            value = f"{value}:{_field(values, argument_block(option))}"
        parts.append(option_text(option, value))
    text = " ".join(p for p in parts if p)
    problem = None
    if scenario and raw_values:
        problem = ParseError("Give values or pick a scenario, not both.", "scenario")
    elif not scenario and not raw_values:
        problem = ParseError("Give some values (e.g. 1-15), or pick a scenario.", "values")
    return Submission(text, scenario, _field(values, CHANNEL), selected, problem)


def inline_errors(error: ParseError, submission: Submission) -> dict[str, str]:
    """The parser's error on the field it is about (``response_action: errors``), as plain text."""
    message = mrkdwn_to_text(error.problem, plain=True).replace("`", "")[:ERROR_MAX]
    option = next((o for o in OPTIONS if o.name == error.field), None)
    if option is not None:
        with_argument = submission.selected.get(option.name) in option.form.takes_argument
        return {argument_block(option) if with_argument else option_block(option): message}
    if error.field == "scenario" or (submission.scenario and error.field == "values"):
        return {SCENARIO: message}
    return {VALUES: message}
