"""The fake Slack's validator (devkit.fake_slack.blockkit): each rule broken and just kept, emoji at every length
limit and one over, what Slack accepts (never stricter), and the bot's own payloads."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from devkit.fake_slack import blockkit as bk
from devkit.preview import surfaces as preview_surfaces

E = "\U0001F600"  # 😀: one code point, two UTF-16 code units, four UTF-8 bytes


def emoji(n: int) -> str:
    return E * n


def plain(text: str, **kw: Any) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, **kw}


def md(text: str, **kw: Any) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, **kw}


def msg(*blocks: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"blocks": list(blocks), **kw}


def modal(*blocks: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain("Title"), "submit": plain("Start"), "blocks": list(blocks), **kw}


def button(**kw: Any) -> dict[str, Any]:
    return {"type": "button", "text": plain("Go"), "action_id": "go", **kw}


def actions(*elements: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements), **kw}


def section(text: str = "Hello", **kw: Any) -> dict[str, Any]:
    return {"type": "section", "text": md(text), **kw}


def option(text: str = "A", value: str = "a", **kw: Any) -> dict[str, Any]:
    return {"text": plain(text), "value": value, **kw}


def select(**kw: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": [option()], **kw}


def input_block(element: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {"type": "input", "block_id": "in", "label": plain("Label"), "element": element, **kw}


def text_input(**kw: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "input", **kw}


def confirm(**kw: Any) -> dict[str, Any]:
    return {"title": plain("Sure?"), "text": md("Really?"), "confirm": plain("Yes"), "deny": plain("No"), **kw}


def message_problems(payload: dict[str, Any]) -> list[str]:
    return bk.message_problems(payload)


def modal_problems(view: dict[str, Any]) -> list[str]:
    return bk.view_problems(view, "modal")


def err(message: str, pointer: str) -> str:
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def too_long(limit: int, pointer: str) -> str:
    return err(f"must be less than {limit + 1} characters", pointer)


# -- how Slack counts ---------------------------------------------------------------------------------------------


def test_slack_counts_code_points() -> None:
    assert bk.slack_length(E) == 1
    assert len(E.encode("utf-16-le")) // 2 == 2 and len(E.encode("utf-8")) == 4
    assert bk.slack_length("\u26a0\ufe0f") == 2  # ⚠️ is U+26A0 and a variation selector: two code points
    assert bk.slack_length("e\u0301") == 2  # a combining accent is a code point of its own


# -- every length limit, with emoji at the limit and one over ----------------------------------------------------

Build = Callable[[str], tuple[str, dict[str, Any]]]


def _m(*blocks: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "message", msg(*blocks)


def _v(view: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "modal", view


LENGTH_CASES: list[tuple[str, int, Build, str]] = [
    ("section text", 3000, lambda s: _m({"type": "section", "text": md(s)}), "/blocks/0/text/text"),
    ("section field", 2000, lambda s: _m({"type": "section", "fields": [md(s)]}), "/blocks/0/fields/0/text"),
    ("context text", 3000, lambda s: _m({"type": "context", "elements": [plain(s)]}), "/blocks/0/elements/0/text"),
    ("header text", 150, lambda s: _m({"type": "header", "text": plain(s)}), "/blocks/0/text/text"),
    ("button text", 75, lambda s: _m(actions(button(text=plain(s)))), "/blocks/0/elements/0/text/text"),
    ("button value", 2000, lambda s: _m(actions(button(value=s))), "/blocks/0/elements/0/value"),
    ("button url", 3000, lambda s: _m(actions(button(url=s))), "/blocks/0/elements/0/url"),
    ("button accessibility_label", 75, lambda s: _m(actions(button(accessibility_label=s))),
     "/blocks/0/elements/0/accessibility_label"),
    ("action_id", 255, lambda s: _m(actions(button(action_id=s))), "/blocks/0/elements/0/action_id"),
    ("block_id", 255, lambda s: _m({"type": "divider", "block_id": s}), "/blocks/0/block_id"),
    ("option text", 75, lambda s: _m(actions(select(options=[option(text=s)]))),
     "/blocks/0/elements/0/options/0/text/text"),
    ("option value", 150, lambda s: _m(actions(select(options=[option(value=s)]))),
     "/blocks/0/elements/0/options/0/value"),
    ("option description", 75, lambda s: _m(actions({"type": "radio_buttons", "options": [
        option(description=md(s))]})), "/blocks/0/elements/0/options/0/description/text"),
    ("option url", 3000, lambda s: _m(actions({"type": "overflow", "options": [option(url=s), option()]})),
     "/blocks/0/elements/0/options/0/url"),
    ("option group label", 75, lambda s: _m(actions({"type": "static_select", "option_groups": [
        {"label": plain(s), "options": [option()]}]})), "/blocks/0/elements/0/option_groups/0/label/text"),
    ("select placeholder", 150, lambda s: _m(actions(select(placeholder=plain(s)))),
     "/blocks/0/elements/0/placeholder/text"),
    ("conversations_select placeholder", 150, lambda s: _m(actions({"type": "conversations_select",
                                                                    "placeholder": plain(s)})),
     "/blocks/0/elements/0/placeholder/text"),
    ("plain_text_input placeholder", 150, lambda s: _v(modal(input_block(text_input(placeholder=plain(s))))),
     "/view/blocks/0/element/placeholder/text"),
    ("number_input placeholder", 150, lambda s: _v(modal(input_block({
        "type": "number_input", "is_decimal_allowed": False, "placeholder": plain(s)}))),
     "/view/blocks/0/element/placeholder/text"),
    ("confirm title", 100, lambda s: _m(actions(button(confirm=confirm(title=plain(s))))),
     "/blocks/0/elements/0/confirm/title/text"),
    ("confirm text", 300, lambda s: _m(actions(button(confirm=confirm(text=md(s))))),
     "/blocks/0/elements/0/confirm/text/text"),
    ("confirm confirm", 30, lambda s: _m(actions(button(confirm=confirm(confirm=plain(s))))),
     "/blocks/0/elements/0/confirm/confirm/text"),
    ("confirm deny", 30, lambda s: _m(actions(button(confirm=confirm(deny=plain(s))))),
     "/blocks/0/elements/0/confirm/deny/text"),
    ("input label", 2000, lambda s: _v(modal(input_block(text_input(), label=plain(s)))),
     "/view/blocks/0/label/text"),
    ("input hint", 2000, lambda s: _v(modal(input_block(text_input(), hint=plain(s)))), "/view/blocks/0/hint/text"),
    ("image block url", 3000, lambda s: _m({"type": "image", "image_url": s, "alt_text": "a"}),
     "/blocks/0/image_url"),
    ("image block alt_text", 2000, lambda s: _m({"type": "image", "image_url": "https://x", "alt_text": s}),
     "/blocks/0/alt_text"),
    ("image block title", 2000, lambda s: _m({"type": "image", "image_url": "https://x", "alt_text": "a",
                                              "title": plain(s)}), "/blocks/0/title/text"),
    ("image element url", 3000, lambda s: _m({"type": "context", "elements": [
        {"type": "image", "image_url": s, "alt_text": "a"}]}), "/blocks/0/elements/0/image_url"),
    ("modal title", 24, lambda s: _v(modal(title=plain(s))), "/view/title/text"),
    ("modal submit", 24, lambda s: _v(modal(submit=plain(s))), "/view/submit/text"),
    ("modal close", 24, lambda s: _v(modal(close=plain(s))), "/view/close/text"),
    ("private_metadata", 3000, lambda s: _v(modal(private_metadata=s)), "/view/private_metadata"),
    ("callback_id", 255, lambda s: _v(modal(callback_id=s)), "/view/callback_id"),
]


def _problems(kind: str, payload: dict[str, Any]) -> list[str]:
    return message_problems(payload) if kind == "message" else modal_problems(payload)


@pytest.mark.parametrize(("name", "limit", "build", "pointer"), LENGTH_CASES, ids=[c[0] for c in LENGTH_CASES])
def test_emoji_at_limit_kept_and_one_over_refused(name: str, limit: int, build: Build, pointer: str) -> None:
    kind, at_limit = build(emoji(limit))
    assert _problems(kind, at_limit) == [], name  # 2 x limit UTF-16 units: a UTF-16 count would refuse it
    kind, over = build(emoji(limit + 1))
    assert too_long(limit, pointer) in _problems(kind, over), name


def test_limits_table_matches_the_tests() -> None:
    assert bk.LIMITS["header_text"].most == 150 and bk.LIMITS["header_text"].source.startswith("https://")
    assert all(limit.source.startswith("https://") for limit in bk.LIMITS.values())


def test_text_object_failure_is_announced_as_slack_does() -> None:
    problems = message_problems(msg({"type": "section", "text": md(emoji(3001))}))
    assert problems == [err("failed to match all allowed schemas", "/blocks/0/text"),
                        too_long(3000, "/blocks/0/text/text")]


def test_empty_text_refused() -> None:
    problems = message_problems(msg({"type": "section", "fields": [md("ok"), md("")]}))
    assert err("must be more than 0 characters", "/blocks/0/fields/1/text") in problems


# -- counts -------------------------------------------------------------------------------------------------------


def test_blocks_per_message() -> None:
    assert message_problems(msg(*[{"type": "divider"}] * 50)) == []
    assert message_problems(msg(*[{"type": "divider"}] * 51)) == [err("no more than 50 items allowed", "/blocks")]


def test_blocks_per_modal_and_home() -> None:
    assert modal_problems(modal(*[{"type": "divider"}] * 100)) == []
    assert err("no more than 100 items allowed", "/view/blocks") in modal_problems(modal(*[{"type": "divider"}] * 101))
    home = {"type": "home", "blocks": [{"type": "divider"}] * 101}
    assert err("no more than 100 items allowed", "/view/blocks") in bk.view_problems(home, "home")
    assert bk.view_problems({"type": "home", "blocks": [{"type": "divider"}] * 100}, "home") == []


def _buttons(n: int) -> list[dict[str, Any]]:
    return [button(action_id=f"b{i}") for i in range(n)]


COUNT_CASES: list[tuple[str, int, Callable[[int], dict[str, Any]], str]] = [
    ("actions elements", 25, lambda n: msg(actions(*_buttons(n))), "/blocks/0/elements"),
    ("context elements", 10, lambda n: msg({"type": "context", "elements": [md("x")] * n}), "/blocks/0/elements"),
    ("section fields", 10, lambda n: msg({"type": "section", "fields": [md("x")] * n}), "/blocks/0/fields"),
    ("select options", 100, lambda n: msg(actions(select(options=[option(value=f"v{i}") for i in range(n)]))),
     "/blocks/0/elements/0/options"),
    ("select option groups", 100, lambda n: msg(actions({"type": "static_select", "option_groups": [
        {"label": plain("G"), "options": [option()]}] * n})), "/blocks/0/elements/0/option_groups"),
    ("options in a group", 100, lambda n: msg(actions({"type": "static_select", "option_groups": [
        {"label": plain("G"), "options": [option(value=f"v{i}") for i in range(n)]}]})),
     "/blocks/0/elements/0/option_groups/0/options"),
    ("radio options", 10, lambda n: msg(actions({"type": "radio_buttons", "options": [
        option(value=f"v{i}") for i in range(n)]})), "/blocks/0/elements/0/options"),
    ("overflow options", 5, lambda n: msg(actions({"type": "overflow", "options": [
        option(value=f"v{i}") for i in range(n)]})), "/blocks/0/elements/0/options"),
]


@pytest.mark.parametrize(("name", "most", "build", "pointer"), COUNT_CASES, ids=[c[0] for c in COUNT_CASES])
def test_item_counts(name: str, most: int, build: Callable[[int], dict[str, Any]], pointer: str) -> None:
    assert message_problems(build(most)) == [], name
    assert err(f"no more than {most} items allowed", pointer) in message_problems(build(most + 1)), name


def test_empty_arrays_refused() -> None:
    assert err("no less than 1 items allowed", "/blocks/0/elements") in message_problems(msg(actions()))
    assert err("no less than 1 items allowed", "/blocks/0/elements/0/options") in message_problems(
        msg(actions({"type": "overflow", "options": []})))
    assert message_problems(msg(actions({"type": "overflow", "options": [option()]}))) == []  # one option is fine


# -- uniqueness ---------------------------------------------------------------------------------------------------


def test_action_id_unique_within_a_block() -> None:
    problems = message_problems(msg(actions(button(action_id="x"), button(action_id="x", value="2"))))
    assert len(problems) == 1 and "[json-pointer:/blocks/0/elements/1/action_id]" in problems[0]
    assert message_problems(msg(actions(button(action_id="x"), button(action_id="y")))) == []


def test_same_action_id_in_different_blocks_accepted() -> None:
    assert message_problems(msg(actions(button(action_id="x")), actions(button(action_id="x")))) == []
    accessory = section(accessory=button(action_id="x"))
    assert message_problems(msg(accessory, actions(button(action_id="x")))) == []


def test_block_id_unique_within_a_message() -> None:
    problems = message_problems(msg(section(block_id="b"), {"type": "divider", "block_id": "b"}))
    assert problems == [err("Block ID needs to be unique", "/blocks/1/block_id")]


def test_block_id_unique_within_a_view() -> None:
    view = modal(input_block(text_input()), input_block(text_input()))  # both block_id "in"
    problems = modal_problems(view)
    assert problems[0] == err("failed to match all allowed schemas", "/view")
    assert err("Block ID needs to be unique", "/view/blocks/1/block_id") in problems


def test_block_id_reused_across_updates_of_one_message_accepted() -> None:
    first = msg(section("Running", block_id="progress"), actions(button(action_id="cancel"), block_id="buttons"))
    second = msg(section("Done", block_id="progress"), actions(button(action_id="retry"), block_id="buttons"))
    assert message_problems(first) == [] and message_problems(second) == []  # each chat.update on its own


def test_block_id_must_not_be_empty() -> None:
    assert err("must be more than 0 characters", "/blocks/0/block_id") in message_problems(
        msg({"type": "divider", "block_id": ""}))


# -- required fields ----------------------------------------------------------------------------------------------

REQUIRED_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("section text or fields", "message", msg({"type": "section"}), err("missing required field: text", "/blocks/0")),
    ("header text", "message", msg({"type": "header"}), err("missing required field: text", "/blocks/0")),
    ("context elements", "message", msg({"type": "context"}), err("missing required field: elements", "/blocks/0")),
    ("actions elements", "message", msg({"type": "actions"}), err("missing required field: elements", "/blocks/0")),
    ("block type", "message", msg({"text": md("x")}), err("missing required field: type", "/blocks/0")),
    ("button text", "message", msg(actions({"type": "button", "action_id": "b"})),
     err("missing required field: text", "/blocks/0/elements/0")),
    ("option value", "message", msg(actions(select(options=[{"text": plain("A")}]))),
     err("missing required field: value", "/blocks/0/elements/0/options/0")),
    ("select options", "message", msg(actions({"type": "static_select"})),
     err("missing required field: options", "/blocks/0/elements/0")),
    ("radio options", "message", msg(actions({"type": "radio_buttons"})),
     err("missing required field: options", "/blocks/0/elements/0")),
    ("overflow options", "message", msg(actions({"type": "overflow"})),
     err("missing required field: options", "/blocks/0/elements/0")),
    ("confirm deny", "message", msg(actions(button(confirm={k: v for k, v in confirm().items() if k != "deny"}))),
     err("missing required field: deny", "/blocks/0/elements/0/confirm")),
    ("image alt_text", "message", msg({"type": "image", "image_url": "https://x"}),
     err("missing required field: alt_text", "/blocks/0")),
    ("image source", "message", msg({"type": "image", "alt_text": "a"}),
     err("missing required field: image_url", "/blocks/0")),
    ("text type", "message", msg({"type": "section", "text": {"text": "x"}}),
     err("missing required field: type", "/blocks/0/text")),
    ("input label", "modal", modal({"type": "input", "element": text_input()}),
     err("missing required field: label", "/view/blocks/0")),
    ("input element", "modal", modal({"type": "input", "label": plain("L")}),
     err("missing required field: element", "/view/blocks/0")),
    ("number_input is_decimal_allowed", "modal", modal(input_block({"type": "number_input"})),
     err("missing required field: is_decimal_allowed", "/view/blocks/0/element")),
    ("modal title", "modal", {"type": "modal", "blocks": []}, err("missing required field: title", "/view")),
    ("modal blocks", "modal", {"type": "modal", "title": plain("T")}, err("missing required field: blocks", "/view")),
    ("modal submit with an input", "modal", {"type": "modal", "title": plain("T"), "blocks": [
        input_block(text_input())]}, err("missing required field: submit", "/view")),
]


@pytest.mark.parametrize(("name", "kind", "payload", "problem"), REQUIRED_CASES, ids=[c[0] for c in REQUIRED_CASES])
def test_required_fields(name: str, kind: str, payload: dict[str, Any], problem: str) -> None:
    assert problem in _problems(kind, payload), name


def test_required_fields_kept() -> None:
    assert message_problems(msg({"type": "section", "fields": [md("a")]})) == []  # fields instead of text
    assert message_problems(msg({"type": "image", "slack_file": {"id": "F1"}, "alt_text": "a"})) == []
    assert modal_problems({"type": "modal", "title": plain("T"), "blocks": [section()]}) == []  # no input: no submit
    assert modal_problems(modal(input_block({"type": "number_input", "is_decimal_allowed": True}))) == []


def test_image_with_url_and_slack_file_refused() -> None:
    block = {"type": "image", "image_url": "https://x", "slack_file": {"id": "F1"}, "alt_text": "a"}
    assert err("invalid additional property: slack_file", "/blocks/0") in message_problems(msg(block))


def test_view_type_and_missing_view() -> None:
    assert err("must be a valid enum value", "/view/type") in bk.view_problems(modal(), "home")
    assert bk.view_problems(None, "modal") == ["[ERROR] missing required field: view"]
    assert bk.view_problems("not json", "modal")[-1] == err("must provide an object", "/view")
    assert bk.view_problems(json.dumps(modal(section())), "modal") == []  # a form-encoded view


# -- text types ---------------------------------------------------------------------------------------------------

TEXT_TYPE_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("header", "message", msg({"type": "header", "text": md("x")}), "/blocks/0/text/type"),
    ("button", "message", msg(actions(button(text=md("x")))), "/blocks/0/elements/0/text/type"),
    ("select option", "message", msg(actions(select(options=[{"text": md("A"), "value": "a"}]))),
     "/blocks/0/elements/0/options/0/text/type"),
    ("placeholder", "message", msg(actions(select(placeholder=md("x")))), "/blocks/0/elements/0/placeholder/type"),
    ("confirm title", "message", msg(actions(button(confirm=confirm(title=md("x"))))),
     "/blocks/0/elements/0/confirm/title/type"),
    ("input label", "modal", modal(input_block(text_input(), label=md("x"))), "/view/blocks/0/label/type"),
    ("input hint", "modal", modal(input_block(text_input(), hint=md("x"))), "/view/blocks/0/hint/type"),
    ("modal title", "modal", modal(title=md("x")), "/view/title/type"),
    ("unknown type", "message", msg({"type": "section", "text": {"type": "markdown", "text": "x"}}),
     "/blocks/0/text/type"),
]


@pytest.mark.parametrize(("name", "kind", "payload", "pointer"), TEXT_TYPE_CASES, ids=[c[0] for c in TEXT_TYPE_CASES])
def test_text_type_each_field_allows(name: str, kind: str, payload: dict[str, Any], pointer: str) -> None:
    assert err("must be a valid enum value", pointer) in _problems(kind, payload), name


def test_text_types_kept() -> None:
    assert message_problems(msg(actions(button(confirm=confirm(text=md("*Really?*")))))) == []  # as the bot does
    assert message_problems(msg(actions(button(confirm=confirm(text=plain("Really?")))))) == []
    assert message_problems(msg(actions({"type": "radio_buttons", "options": [
        {"text": md("*A*"), "value": "a", "description": md("_d_")}]}))) == []  # radio options take mrkdwn
    assert message_problems(msg({"type": "section", "fields": [plain("a"), md("*b*")]})) == []


def test_emoji_only_on_plain_text_verbatim_only_on_mrkdwn() -> None:
    assert message_problems(msg({"type": "section", "text": plain("x", emoji=True)})) == []
    assert message_problems(msg({"type": "section", "text": md("x", verbatim=True)})) == []
    assert message_problems(msg({"type": "section", "text": md("x", emoji=True)})) == [
        err("failed to match all allowed schemas", "/blocks/0/text"),
        err("invalid additional property: emoji", "/blocks/0/text")]
    assert err("invalid additional property: verbatim", "/blocks/0/text") in message_problems(
        msg({"type": "section", "text": plain("x", verbatim=False)}))
    assert err("must provide a boolean", "/blocks/0/text/emoji") in message_problems(
        msg({"type": "section", "text": plain("x", emoji="yes")}))


def test_text_must_be_an_object() -> None:
    assert message_problems(msg({"type": "header", "text": "Hi"})) == [
        err("failed to match all allowed schemas", "/blocks/0/text"), err("must provide an object", "/blocks/0/text")]


# -- which elements each block takes --------------------------------------------------------------------------------

PLACEMENT_CASES: list[tuple[str, str, dict[str, Any], str]] = [
    ("plain_text_input in actions", "message", msg(actions(text_input())), "/blocks/0/elements/0/type"),
    ("number_input as accessory", "message", msg(section(accessory={"type": "number_input",
                                                                    "is_decimal_allowed": False})),
     "/blocks/0/accessory/type"),
    ("button in input", "modal", modal(input_block(button())), "/view/blocks/0/element/type"),
    ("overflow in input", "modal", modal(input_block({"type": "overflow", "options": [option()]})),
     "/view/blocks/0/element/type"),
    ("image in actions", "message", msg(actions({"type": "image", "image_url": "https://x", "alt_text": "a"})),
     "/blocks/0/elements/0/type"),
    ("button in context", "message", msg({"type": "context", "elements": [button()]}), "/blocks/0/elements/0/type"),
    ("unknown element", "message", msg(actions({"type": "buton"})), "/blocks/0/elements/0/type"),
    ("unknown block", "message", msg({"type": "sectoin"}), "/blocks/0/type"),
]


@pytest.mark.parametrize(("name", "kind", "payload", "pointer"), PLACEMENT_CASES, ids=[c[0] for c in PLACEMENT_CASES])
def test_elements_each_block_allows(name: str, kind: str, payload: dict[str, Any], pointer: str) -> None:
    problems = _problems(kind, payload)
    assert any(p.startswith("[ERROR] unsupported type: ") and p.endswith(f"[json-pointer:{pointer}]")
               for p in problems), (name, problems)


def test_placements_kept() -> None:
    assert message_problems(msg({"type": "context", "elements": [
        {"type": "image", "image_url": "https://x", "alt_text": "a"}, md("x")]})) == []
    assert message_problems(msg(section(accessory={"type": "image", "image_url": "https://x", "alt_text": "a"}))) == []
    assert message_problems(msg(section(accessory={"type": "overflow", "options": [option()]}))) == []
    assert message_problems(msg(actions({"type": "datepicker", "action_id": "d"},
                                        {"type": "conversations_select", "action_id": "c"}))) == []
    assert modal_problems(modal(input_block({"type": "conversations_select", "action_id": "c",
                                             "response_url_enabled": True}))) == []
    assert modal_problems(modal(input_block({"type": "radio_buttons", "options": [option()]}))) == []


def test_input_block_in_a_message_accepted() -> None:
    assert message_problems(msg(input_block(text_input()))) == []


def test_documented_blocks_outside_this_bot_accepted() -> None:
    rich = {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": [
        {"type": "text", "text": "hi"}]}]}
    assert message_problems(msg(rich, {"type": "markdown", "text": "**hi**"})) == []


def test_unknown_properties_refused() -> None:
    assert err("invalid additional property: disabled", "/blocks/0/elements/0") in message_problems(
        msg(actions(button(disabled=True))))
    assert err("invalid additional property: text", "/blocks/0") in message_problems(
        msg({"type": "divider", "text": md("x")}))


def test_button_style() -> None:
    assert message_problems(msg(actions(button(style="primary"), button(action_id="d", style="danger")))) == []
    assert err("must be a valid enum value", "/blocks/0/elements/0/style") in message_problems(
        msg(actions(button(style="green"))))


# -- option rules -------------------------------------------------------------------------------------------------


def test_initial_option_must_be_one_of_the_options() -> None:
    options = [option("A", "a", ), option("B", "b")]
    kept = select(options=options, initial_option={"text": plain("B", emoji=True), "value": "b"})
    assert message_problems(msg(actions(kept))) == []  # flags such as emoji are not compared
    stray = select(options=options, initial_option=option("C", "c"))
    assert message_problems(msg(actions(stray))) == [
        err("must be one of the provided options", "/blocks/0/elements/0/initial_option")]
    radio = {"type": "radio_buttons", "options": options, "initial_option": option("A", "z")}
    assert err("must be one of the provided options", "/blocks/0/elements/0/initial_option") in message_problems(
        msg(actions(radio)))


def test_option_url_only_in_overflow() -> None:
    assert err("invalid additional property: url", "/blocks/0/elements/0/options/0") in message_problems(
        msg(actions(select(options=[option(url="https://x")]))))
    assert message_problems(msg(actions({"type": "overflow", "options": [option(url="https://x")]}))) == []


# -- element rules ------------------------------------------------------------------------------------------------


def test_number_input_values_are_strings() -> None:
    good = {"type": "number_input", "is_decimal_allowed": False, "min_value": "1", "max_value": "10",
            "initial_value": "1"}
    assert modal_problems(modal(input_block(good))) == []
    assert err("must provide a string", "/view/blocks/0/element/min_value") in modal_problems(
        modal(input_block({**good, "min_value": 1})))
    assert err("must provide a boolean", "/view/blocks/0/element/is_decimal_allowed") in modal_problems(
        modal(input_block({**good, "is_decimal_allowed": "false"})))
    assert any("min_value cannot be greater than max_value" in p
               for p in modal_problems(modal(input_block({**good, "min_value": "11"}))))


def test_plain_text_input_min_length() -> None:
    assert modal_problems(modal(input_block(text_input(min_length=3000, max_length=3000, multiline=True)))) == []
    assert err("must be less than 3001", "/view/blocks/0/element/min_length") in modal_problems(
        modal(input_block(text_input(min_length=3001))))


def test_conversation_filter() -> None:
    def with_filter(f: Any) -> dict[str, Any]:
        return msg(actions({"type": "conversations_select", "action_id": "c", "filter": f}))

    assert message_problems(with_filter({"include": ["public", "im"], "exclude_bot_users": True})) == []
    assert message_problems(with_filter({"exclude_bot_users": True})) == []
    assert err("no less than 1 items allowed", "/blocks/0/elements/0/filter/include") in message_problems(
        with_filter({"include": []}))
    assert err("must be a valid enum value", "/blocks/0/elements/0/filter/include/0") in message_problems(
        with_filter({"include": ["channels"]}))
    assert err("missing required field: include", "/blocks/0/elements/0/filter") in message_problems(with_filter({}))


def test_input_optional_must_be_boolean() -> None:
    assert err("must provide a boolean", "/view/blocks/0/optional") in modal_problems(
        modal(input_block(text_input(), optional="true")))


# -- message fields: text, response_url and ack bodies ----------------------------------------------------------


def test_blocks_as_json_text() -> None:
    assert message_problems({"blocks": json.dumps([section()]), "text": "x"}) == []
    assert message_problems({"blocks": "[{oops"}) == [err("must provide an array", "/blocks")]
    assert message_problems({"text": "no blocks at all"}) == []


def test_response_url_fields() -> None:
    assert message_problems({"text": "x", "response_type": "in_channel", "replace_original": "true"}) == []
    assert message_problems({"text": "x", "response_type": "ephemeral", "delete_original": False}) == []
    assert message_problems({"text": "x", "response_type": "public"}) == [
        err("must be a valid enum value", "/response_type")]
    assert message_problems({"text": "x", "replace_original": "yes"}) == [
        err("must provide a boolean", "/replace_original")]


def test_refusal_shapes() -> None:
    problems = message_problems(msg({"type": "header", "text": plain(emoji(151))}))
    assert bk.chat_refusal(problems) == {
        "ok": False, "error": "invalid_blocks",
        "errors": ["failed to match all allowed schemas [json-pointer:/blocks/0/text]",
                   "must be less than 151 characters [json-pointer:/blocks/0/text/text]"],
        "response_metadata": {"messages": problems}}
    view_problems = modal_problems(modal(*[{"type": "divider"}] * 101))
    assert bk.views_refusal(view_problems) == {
        "ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [
            "[ERROR] failed to match all allowed schemas [json-pointer:/view]",
            "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"]}}


def test_blocks_without_text_accepted_without_a_slack_warning() -> None:
    payload = {"channel": "C1", "blocks": [section()]}
    assert message_problems(payload) == [] and bk.argument_problem("chat.postMessage", payload) is None
    assert bk.message_warnings(payload) == []
    notice = bk.missing_text_notice("chat.postMessage", payload)
    assert notice is not None and notice.startswith("The top-level `text` argument is missing")
    assert bk.missing_text_notice("chat.postMessage", {**payload, "text": "fallback"}) is None


def test_message_text_beyond_40000_is_truncated_with_a_warning() -> None:
    at_limit, over = {"channel": "C1", "text": emoji(40_000)}, {"channel": "C1", "text": emoji(40_001)}
    assert message_problems(over) == [] and bk.argument_problem("chat.postMessage", over) is None  # not refused
    assert bk.message_warnings(at_limit) == []
    assert bk.message_warnings(over) == ["message_truncated"]
    assert bk.truncated_text(emoji(40_001)) == emoji(40_000)


def test_total_block_text_beyond_13000_not_enforced() -> None:
    blocks = [section(emoji(2900)) for _ in range(5)] + [{"type": "header", "text": plain(emoji(150))}]
    assert sum(len(b["text"]["text"]) for b in blocks) > 14_000
    assert message_problems(msg(*blocks)) == []


# -- view size ----------------------------------------------------------------------------------------------------


def _view_of_bytes(size: int) -> dict[str, Any]:
    view = modal(section("x"))
    base = len(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode())
    view["blocks"][0]["text"]["text"] = "x" * (size - base + 1)
    assert len(json.dumps(view, separators=(",", ":"), ensure_ascii=False).encode()) == size
    return view


def test_view_too_large() -> None:
    assert not bk.view_size_too_large(_view_of_bytes(250 * 1024))
    assert bk.view_size_too_large(_view_of_bytes(250 * 1024 + 1))
    assert bk.view_size_too_large(json.dumps(_view_of_bytes(250 * 1024 + 1), separators=(",", ":")))
    assert not bk.view_size_too_large(json.dumps(_view_of_bytes(250 * 1024), separators=(",", ":")))


# -- view_submission acks -------------------------------------------------------------------------------------------

FORM = modal(section("Intro", block_id="intro"), input_block(text_input(), block_id="values"),
             input_block({"type": "number_input", "is_decimal_allowed": False}, block_id="retries"))


def test_view_submission_ack() -> None:
    assert bk.view_submission_ack_problems({}, FORM) == []
    assert bk.view_submission_ack_problems(None, FORM) == []
    assert bk.view_submission_ack_problems({"response_action": "clear"}, FORM) == []
    errors = {"response_action": "errors", "errors": {"values": f"Not a number {E}", "retries": "1-10"}}
    assert bk.view_submission_ack_problems(errors, FORM) == []
    assert bk.view_submission_ack_problems({"response_action": "update", "view": modal(section())}, FORM) == []
    assert bk.view_submission_ack_problems({"response_action": "push", "view": modal(section())}, FORM) == []


def test_view_submission_ack_refused() -> None:
    not_input = {"response_action": "errors", "errors": {"intro": "no"}}
    assert any(p.endswith("[json-pointer:/errors/intro]") for p in bk.view_submission_ack_problems(not_input, FORM))
    unknown = {"response_action": "errors", "errors": {"nope": "no"}}
    assert any(p.endswith("[json-pointer:/errors/nope]") for p in bk.view_submission_ack_problems(unknown, FORM))
    empty = {"response_action": "errors", "errors": {"values": ""}}
    assert bk.view_submission_ack_problems(empty, FORM) == [
        err("must be more than 0 characters", "/errors/values")]
    assert bk.view_submission_ack_problems({"response_action": "errors", "errors": {}}, FORM) == [
        err("must provide an object", "/errors")]
    assert bk.view_submission_ack_problems({"response_action": "close"}, FORM) == [
        err("must be a valid enum value", "/response_action")]
    assert bk.view_submission_ack_problems({"response_action": "push"}, FORM) == [
        "[ERROR] missing required field: view"]
    bad = bk.view_submission_ack_problems({"response_action": "update", "view": modal(title=plain(emoji(25)))}, FORM)
    assert too_long(24, "/view/title/text") in bad


# -- Web API arguments ----------------------------------------------------------------------------------------------

BLOCKS = [section("Hi", block_id="b1")]
VIEW = modal(input_block(text_input()))
GOOD_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("auth.test", {}),
    ("apps.connections.open", {}),
    ("chat.postMessage", {"channel": "C1", "text": "hi", "blocks": BLOCKS, "thread_ts": "1.2",
                          "metadata": {"event_type": "fanout_started", "event_payload": {"id": "x"}}}),
    ("chat.postMessage", {"channel": "C1", "text": "hi", "blocks": json.dumps(BLOCKS), "unfurl_links": "false",
                          "reply_broadcast": "1", "mrkdwn": "true",
                          "metadata": json.dumps({"event_type": "e", "event_payload": {}})}),
    ("chat.postMessage", {"channel": "U1", "attachments": '[{"text": "legacy", "fallback": "legacy"}]'}),
    ("chat.postMessage", {"channel": "C1", "markdown_text": "**hi**"}),
    ("chat.update", {"channel": "C1", "ts": "1765000000.000100", "text": "hi", "blocks": BLOCKS}),
    ("chat.update", {"channel": "C1", "ts": "1765000000.000100", "blocks": json.dumps(BLOCKS), "as_user": "0"}),
    ("chat.postEphemeral", {"channel": "C1", "user": "U1", "text": "only you"}),
    ("conversations.history", {"channel": "C1", "oldest": "1765000000.000100", "include_all_metadata": True,
                               "limit": 200}),
    ("conversations.history", {"channel": "C1", "oldest": "1765000000.000100", "include_all_metadata": "1",
                               "limit": "200"}),
    ("conversations.replies", {"channel": "C1", "ts": "1765000000.000100", "include_all_metadata": "true",
                               "limit": "200", "cursor": "dXNlcjpVMDYxTkZUVDI="}),
    ("conversations.open", {"users": "U1"}),
    ("conversations.open", {"users": ["U1", "U2"], "return_im": "1"}),
    ("conversations.open", {"channel": "D1"}),
    ("files.getUploadURLExternal", {"filename": "results.csv", "length": "1234"}),
    ("files.getUploadURLExternal", {"filename": "results.csv", "length": 1, "alt_txt": "CSV"}),
    ("files.completeUploadExternal", {"files": '[{"id": "F1", "title": "results.csv"}]', "channel_id": "C1",
                                      "thread_ts": "1.2", "initial_comment": "All results"}),
    ("files.completeUploadExternal", {"files": [{"id": "F1"}]}),
    ("views.open", {"trigger_id": "1.2.abc", "view": VIEW}),
    ("views.open", {"trigger_id": "1.2.abc", "view": json.dumps(VIEW)}),
    ("views.push", {"interactivity_pointer": "1.2.abc", "view": json.dumps(VIEW)}),
    ("views.update", {"view_id": "V1", "view": VIEW, "hash": "1.2"}),
    ("views.update", {"external_id": "run-1", "view": json.dumps(VIEW)}),
    ("views.publish", {"user_id": "U1", "view": {"type": "home", "blocks": BLOCKS}}),
    ("views.publish", {"user_id": "U1", "view": json.dumps({"type": "home", "blocks": BLOCKS})}),
    ("functions.completeSuccess", {"function_execution_id": "Fx1", "outputs": {"run_id": "fanout-1"}}),
    ("functions.completeSuccess", {"function_execution_id": "Fx1", "outputs": '{"run_id": "fanout-1"}'}),
    ("functions.completeError", {"function_execution_id": "Fx1", "error": "the run did not finish"}),
    ("users.info", {"user": "U1", "include_locale": "true"}),
]


@pytest.mark.parametrize(("method", "params"), GOOD_CALLS, ids=[f"{m}-{i}" for i, (m, _) in enumerate(GOOD_CALLS)])
def test_arguments_accepted(method: str, params: dict[str, Any]) -> None:
    assert bk.argument_problem(method, params) is None


def test_every_method_the_bot_calls_is_covered() -> None:
    called = {"auth.test", "chat.postMessage", "chat.update", "chat.postEphemeral", "conversations.history",
              "conversations.replies", "conversations.open", "files.getUploadURLExternal",
              "files.completeUploadExternal", "views.open", "views.push", "views.update", "views.publish",
              "functions.completeSuccess", "functions.completeError", "apps.connections.open", "users.info"}
    assert called == set(bk.METHODS) and called <= {m for m, _ in GOOD_CALLS}


def _invalid(*messages: str) -> dict[str, Any]:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(messages)}}


BAD_CALLS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("chat.postMessage", {"text": "hi"}, {"ok": False, "error": "channel_not_found"}),
    ("chat.postMessage", {"channel": "", "text": "hi"}, {"ok": False, "error": "channel_not_found"}),
    ("chat.postMessage", {"channel": "C1"}, {"ok": False, "error": "no_text"}),
    ("chat.postMessage", {"channel": "C1", "text": "", "blocks": "[]"}, {"ok": False, "error": "no_text"}),
    ("chat.postMessage", {"channel": "C1", "blocks": "[{"}, {"ok": False, "error": "invalid_blocks_format"}),
    ("chat.postMessage", {"channel": "C1", "blocks": {"type": "section"}},
     {"ok": False, "error": "invalid_blocks_format"}),
    ("chat.postMessage", {"channel": "C1", "text": "x", "markdown_text": "**x**"},
     {"ok": False, "error": "markdown_text_conflict"}),
    ("chat.postMessage", {"channel": "C1", "text": "x", "metadata": "{oops"},
     {"ok": False, "error": "invalid_metadata_format"}),
    ("chat.postMessage", {"channel": ["C1"], "text": "x"},
     _invalid("[ERROR] must provide a string [json-pointer:/channel]")),
    ("chat.postMessage", {"channel": "C1", "text": {"t": "x"}},
     _invalid("[ERROR] must provide a string [json-pointer:/text]")),
    ("chat.postMessage", {"channel": "C1", "text": "x", "unfurl_links": {"no": 1}},
     _invalid("[ERROR] must provide a boolean [json-pointer:/unfurl_links]")),
    ("chat.update", {"ts": "1.2", "text": "x"}, {"ok": False, "error": "channel_not_found"}),
    ("chat.update", {"channel": "C1", "text": "x"}, {"ok": False, "error": "message_not_found"}),
    ("chat.update", {"channel": "C1", "ts": "1.2"}, {"ok": False, "error": "no_text"}),
    ("chat.postEphemeral", {"user": "U1", "text": "x"}, {"ok": False, "error": "channel_not_found"}),
    ("chat.postEphemeral", {"channel": "C1", "text": "x"}, {"ok": False, "error": "user_not_in_channel"}),
    ("conversations.history", {}, {"ok": False, "error": "channel_not_found"}),
    ("conversations.history", {"channel": "C1", "oldest": "yesterday"}, {"ok": False, "error": "invalid_ts_oldest"}),
    ("conversations.replies", {"channel": "C1"}, {"ok": False, "error": "thread_not_found"}),
    ("conversations.replies", {"channel": "C1", "ts": "1.2", "latest": "soon"},
     {"ok": False, "error": "invalid_ts_latest"}),
    ("conversations.open", {}, {"ok": False, "error": "users_list_not_supplied"}),
    ("conversations.open", {"users": ",".join(f"U{i}" for i in range(9))}, {"ok": False, "error": "too_many_users"}),
    ("files.getUploadURLExternal", {}, _invalid("[ERROR] missing required field: filename",
                                                "[ERROR] missing required field: length")),
    ("files.getUploadURLExternal", {"filename": "a.csv", "length": "many"},
     _invalid("[ERROR] must provide an integer [json-pointer:/length]")),
    ("files.getUploadURLExternal", {"filename": "a.csv", "length": 0},
     _invalid("[ERROR] must be greater than 1 [json-pointer:/length]")),
    ("files.completeUploadExternal", {}, _invalid("[ERROR] missing required field: files")),
    ("files.completeUploadExternal", {"files": '[{"title": "x"}]'},
     _invalid("[ERROR] missing required field: id [json-pointer:/files/0]")),
    ("files.completeUploadExternal", {"files": "F1"}, _invalid("[ERROR] must provide an array [json-pointer:/files]")),
    ("views.open", {"trigger_id": "1.2.x"}, _invalid("[ERROR] missing required field: view")),
    ("views.open", {"trigger_id": "1.2.x", "view": "{oops"},
     _invalid("[ERROR] must provide an object [json-pointer:/view]")),
    ("views.push", {"trigger_id": "1.2.x"}, _invalid("[ERROR] missing required field: view")),
    ("views.update", {"view": VIEW}, _invalid("[ERROR] missing required field: view_id")),
    ("views.publish", {"view": {"type": "home", "blocks": []}}, _invalid("[ERROR] missing required field: user_id")),
    ("functions.completeSuccess", {"function_execution_id": "Fx1"},
     _invalid("[ERROR] missing required field: outputs")),
    ("functions.completeSuccess", {"function_execution_id": "Fx1", "outputs": "[1]"},
     _invalid("[ERROR] must provide an object [json-pointer:/outputs]")),
    ("functions.completeError", {"error": "x"}, _invalid("[ERROR] missing required field: function_execution_id")),
    ("users.info", {}, {"ok": False, "error": "user_not_found"}),
]


@pytest.mark.parametrize(("method", "params", "answer"), BAD_CALLS,
                         ids=[f"{m}-{i}" for i, (m, _, _) in enumerate(BAD_CALLS)])
def test_arguments_refused(method: str, params: dict[str, Any], answer: dict[str, Any]) -> None:
    assert bk.argument_problem(method, params) == answer


def test_methods_outside_the_list_are_not_judged() -> None:
    assert bk.argument_problem("reactions.add", {}) is None


# -- the bot's own payloads -------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def surfaces() -> dict[str, dict[str, Any]]:
    """The bot's surfaces as it builds them (devkit.preview: the run message, summary, help, form and Home)."""
    return json.loads(json.dumps(preview_surfaces(), default=str))


@pytest.mark.parametrize("name", ["run message", "summary", "help"])
def test_bot_messages_pass(surfaces: dict[str, dict[str, Any]], name: str) -> None:
    blocks = surfaces[name]["blocks"]
    assert message_problems({"blocks": blocks}) == []
    call = {"channel": "C0123ABCD", "text": "fallback", "blocks": blocks}
    assert bk.argument_problem("chat.postMessage", call) is None
    form_encoded = {"channel": "C0123ABCD", "text": "fallback", "blocks": json.dumps(blocks)}
    assert bk.argument_problem("chat.update", {**form_encoded, "ts": "1765000000.000100"}) is None
    assert message_problems(form_encoded) == []
    ephemeral = {"text": "fallback", "blocks": blocks, "response_type": "ephemeral", "replace_original": False}
    assert message_problems(ephemeral) == []  # as respond(...) posts it to a response_url


def test_bot_form_passes(surfaces: dict[str, dict[str, Any]]) -> None:
    form = surfaces["form"]
    assert bk.view_problems(form, "modal") == [] and not bk.view_size_too_large(form)
    assert bk.argument_problem("views.open", {"trigger_id": "1.2.fake", "view": form}) is None


def test_bot_home_as_built_passes(surfaces: dict[str, dict[str, Any]]) -> None:
    home = surfaces["home"]
    assert bk.view_problems(home, "home") == [] and not bk.view_size_too_large(home)
    assert bk.argument_problem("views.publish", {"user_id": "U0123ABCD", "view": home}) is None


def test_home_with_one_action_id_on_several_buttons_refused(surfaces: dict[str, dict[str, Any]]) -> None:
    home = copy.deepcopy(surfaces["home"])
    block = next(i for i, b in enumerate(home["blocks"]) if b.get("type") == "actions")
    for element in home["blocks"][block]["elements"]:
        element["action_id"] = "fanout_new_run"
    problems = bk.view_problems(home, "home")
    assert problems[0] == "[ERROR] failed to match all allowed schemas [json-pointer:/view]"
    assert any(p.endswith(f"[json-pointer:/view/blocks/{block}/elements/1/action_id]") for p in problems)


# -- more of what Slack accepts ---------------------------------------------------------------------------------------


def test_empty_form_values_are_absent() -> None:
    assert message_problems({"text": "x", "blocks": ""}) == []
    assert bk.argument_problem("chat.postMessage", {"channel": "C1", "text": "x", "blocks": "", "metadata": ""}) is None


def test_image_block_read_back_from_slack_accepted() -> None:
    echoed = {"type": "image", "block_id": "img", "image_url": "https://x/y.png", "alt_text": "a",
              "image_width": 640, "image_height": 480, "image_bytes": 1234, "is_animated": False,
              "fallback": "640x480px"}
    assert message_problems(msg(echoed)) == []


def test_select_with_option_groups_only_accepted() -> None:
    groups = {"type": "static_select", "action_id": "g", "option_groups": [
        {"label": plain("G1"), "options": [option("A", "a")]}, {"label": plain("G2"), "options": [option("B", "b")]}],
        "initial_option": option("B", "b")}
    assert message_problems(msg(actions(groups))) == []
