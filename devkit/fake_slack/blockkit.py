"""Slack's own checks on what a bot sends, for a loopback fake of the Slack Web API: refuse what Slack refuses,
answer it the way Slack answers it, and never refuse what Slack accepts.

Stdlib only; works on plain dicts (a JSON body) and on form-encoded values (every value a string, ``blocks``,
``view``, ``metadata``, ``files`` and ``outputs`` as JSON text, booleans as "1"/"true").

* ``message_problems(payload)``: the blocks, text and response fields of chat.postMessage / chat.update /
  chat.postEphemeral, of a response_url POST body or of a slash command's ack body.
* ``view_problems(view, kind)``, ``view_size_too_large(view)``: views.open / push / update / publish.
* ``view_submission_ack_problems(body, view)``: the ack to a ``view_submission``.
* ``argument_problem(method, params)``: the arguments of each Web API method the bot calls.
* ``chat_refusal(problems)``, ``views_refusal(problems)``: Slack's answer to a refused message or view.
* ``message_warnings(payload)``: the warnings of an accepted message (``message_truncated``).

Every problem reads as Slack writes them: ``[ERROR] <message> [json-pointer:<where>]``. Slack validates with a
JSON schema; the messages it is known to write are "must be less than N characters" (N = the maximum + 1), "must
be more than 0 characters", "no more than N items allowed", "missing required field: X" (pointing at the
object), "invalid additional property: X" (pointing at the object), "must provide a string / an object",
"must be a valid enum value", "must be one of the provided options" and, above a text object (or a view) that
fails, "failed to match all allowed schemas". NOTES.md gives the source of each rule and of each message.

Lengths are counted in Unicode code points (``len()`` of a Python ``str``): see ``slack_length``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

# -- where each rule comes from ------------------------------------------------------------------------------------

_REF: Final = "https://docs.slack.dev/reference"
BLOCKS_URL: Final = f"{_REF}/block-kit/blocks"
SECTION_URL: Final = f"{_REF}/block-kit/blocks/section-block"
CONTEXT_URL: Final = f"{_REF}/block-kit/blocks/context-block"
ACTIONS_URL: Final = f"{_REF}/block-kit/blocks/actions-block"
HEADER_URL: Final = f"{_REF}/block-kit/blocks/header-block"
INPUT_URL: Final = f"{_REF}/block-kit/blocks/input-block"
IMAGE_BLOCK_URL: Final = f"{_REF}/block-kit/blocks/image-block"
BUTTON_URL: Final = f"{_REF}/block-kit/block-elements/button-element"
SELECT_URL: Final = f"{_REF}/block-kit/block-elements/select-menu-element"
RADIO_URL: Final = f"{_REF}/block-kit/block-elements/radio-button-group-element"
PLAIN_INPUT_URL: Final = f"{_REF}/block-kit/block-elements/plain-text-input-element"
OVERFLOW_URL: Final = f"{_REF}/block-kit/block-elements/overflow-menu-element"
IMAGE_ELEMENT_URL: Final = f"{_REF}/block-kit/block-elements/image-element"
TEXT_URL: Final = f"{_REF}/block-kit/composition-objects/text-object"
OPTION_URL: Final = f"{_REF}/block-kit/composition-objects/option-object"
OPTION_GROUP_URL: Final = f"{_REF}/block-kit/composition-objects/option-group-object"
CONFIRM_URL: Final = f"{_REF}/block-kit/composition-objects/confirmation-dialog-object"
MODAL_URL: Final = f"{_REF}/views/modal-views"
VIEWS_OPEN_URL: Final = f"{_REF}/methods/views.open"
CHAT_UPDATE_URL: Final = f"{_REF}/methods/chat.update"


@dataclass(frozen=True)
class Limit:
    """A documented maximum (characters, items or bytes) and the page that documents it."""

    most: int
    source: str


LIMITS: Final[dict[str, Limit]] = {
    # surfaces
    "message_blocks": Limit(50, BLOCKS_URL),  # "up to 50 blocks in each message"
    "view_blocks": Limit(100, BLOCKS_URL),  # "... and 100 blocks in modals or Home tabs"
    "message_text": Limit(40_000, CHAT_UPDATE_URL),  # beyond: truncated, warning message_truncated (not refused)
    "view_bytes": Limit(250 * 1024, VIEWS_OPEN_URL),  # view_too_large: "greater than 250kb"
    "modal_title": Limit(24, MODAL_URL),
    "modal_submit": Limit(24, MODAL_URL),
    "modal_close": Limit(24, MODAL_URL),
    "private_metadata": Limit(3000, MODAL_URL),
    "callback_id": Limit(255, MODAL_URL),
    # blocks
    "block_id": Limit(255, BLOCKS_URL),
    "actions_elements": Limit(25, ACTIONS_URL),
    "context_elements": Limit(10, CONTEXT_URL),
    "section_text": Limit(3000, SECTION_URL),
    "section_fields": Limit(10, SECTION_URL),
    "section_field_text": Limit(2000, SECTION_URL),
    "header_text": Limit(150, HEADER_URL),
    "input_label": Limit(2000, INPUT_URL),
    "input_hint": Limit(2000, INPUT_URL),
    "image_url": Limit(3000, IMAGE_BLOCK_URL),
    "image_alt_text": Limit(2000, IMAGE_BLOCK_URL),
    "image_title": Limit(2000, IMAGE_BLOCK_URL),
    # elements
    "action_id": Limit(255, BUTTON_URL),
    "button_text": Limit(75, BUTTON_URL),
    "button_value": Limit(2000, BUTTON_URL),
    "button_url": Limit(3000, BUTTON_URL),
    "button_accessibility_label": Limit(75, BUTTON_URL),
    "placeholder": Limit(150, SELECT_URL),
    "select_options": Limit(100, SELECT_URL),
    "select_option_groups": Limit(100, OPTION_GROUP_URL),
    "radio_options": Limit(10, RADIO_URL),
    "overflow_options": Limit(5, OVERFLOW_URL),
    "plain_input_min_length": Limit(3000, PLAIN_INPUT_URL),  # "Maximum value is 3000"
    "element_image_url": Limit(3000, IMAGE_ELEMENT_URL),
    # composition objects
    "text": Limit(3000, TEXT_URL),  # any text object, unless its field says less
    "option_text": Limit(75, OPTION_URL),
    "option_value": Limit(150, OPTION_URL),
    "option_description": Limit(75, OPTION_URL),
    "option_url": Limit(3000, OPTION_URL),
    "option_group_label": Limit(75, OPTION_GROUP_URL),
    "option_group_options": Limit(100, OPTION_GROUP_URL),
    "confirm_title": Limit(100, CONFIRM_URL),
    "confirm_text": Limit(300, CONFIRM_URL),
    "confirm_confirm": Limit(30, CONFIRM_URL),
    "confirm_deny": Limit(30, CONFIRM_URL),
}


def _most(name: str) -> int:
    return LIMITS[name].most


def slack_length(text: str) -> int:
    """A length as Slack counts it: Unicode code points. Slack validates with a JSON schema, whose ``maxLength``
    counts characters as RFC 8259 defines them (code points), and its own docs count a non-BMP character (an
    emoji such as U+1F600, 2 UTF-16 units, 4 UTF-8 bytes) as one character. NOTES.md gives the sources."""
    return len(text)


# -- problems ------------------------------------------------------------------------------------------------------


class _Report:
    """Problems as Slack writes them, in the order met."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, message: str, pointer: str | None) -> None:
        """One problem; ``pointer`` None for a missing top-level argument ("[ERROR] missing required field: x")."""
        where = "" if pointer is None else f" [json-pointer:{pointer}]"
        self.problems.append(f"[ERROR] {message}{where}")

    def extend(self, other: _Report) -> None:
        self.problems += other.problems


def _string(r: _Report, value: Any, ptr: str, most: int | None = None, *, at_least: int = 0) -> None:
    if not isinstance(value, str):
        r.add("must provide a string", ptr)
    elif slack_length(value) < at_least:
        r.add(f"must be more than {at_least - 1} characters", ptr)
    elif most is not None and slack_length(value) > most:
        r.add(f"must be less than {most + 1} characters", ptr)


def _array(r: _Report, value: Any, ptr: str, most: int | None = None, *, at_least: int = 0) -> bool:
    """Whether ``value`` is an array whose items may be checked (a count problem still lets them be)."""
    if not isinstance(value, list):
        r.add("must provide an array", ptr)
        return False
    if most is not None and len(value) > most:
        r.add(f"no more than {most} items allowed", ptr)
    elif len(value) < at_least:
        r.add(f"no less than {at_least} items allowed", ptr)  # wording inferred from "no more than N items"
    return True


def _object(r: _Report, value: Any, ptr: str) -> bool:
    if not isinstance(value, dict):
        r.add("must provide an object", ptr)
        return False
    return True


def _boolean(r: _Report, obj: Mapping[str, Any], key: str, ptr: str) -> None:
    if key in obj and not isinstance(obj[key], bool):
        r.add("must provide a boolean", f"{ptr}/{key}")


def _required(r: _Report, obj: Mapping[str, Any], keys: tuple[str, ...], ptr: str) -> None:
    for key in keys:
        if key not in obj:
            r.add(f"missing required field: {key}", ptr)


def _extra(r: _Report, obj: Mapping[str, Any], allowed: frozenset[str], ptr: str) -> None:
    """Slack's schemas forbid unknown properties: "invalid additional property: emoji" (an emoji on mrkdwn),
    "... disabled" (on a button), "... text" (on a divider)."""
    for key in obj:
        if key not in allowed:
            r.add(f"invalid additional property: {key}", ptr)


def _optional_string(r: _Report, obj: Mapping[str, Any], key: str, ptr: str, limit: str | None = None) -> None:
    if key in obj:
        _string(r, obj[key], f"{ptr}/{key}", _most(limit) if limit else None)


# -- composition objects ---------------------------------------------------------------------------------------

PLAIN: Final = frozenset({"plain_text"})
ANY_TEXT: Final = frozenset({"plain_text", "mrkdwn"})


def _text(r: _Report, obj: Any, ptr: str, limit: str = "text", types: frozenset[str] = ANY_TEXT) -> None:
    """A text object (TEXT_URL): type plain_text or mrkdwn as the field allows, text of 1 to the field's maximum,
    ``emoji`` only on plain_text, ``verbatim`` only on mrkdwn. A text object that fails gets "failed to match all
    allowed schemas" at its own pointer, before the reason (as Slack answers)."""
    inner = _Report()
    if _object(inner, obj, ptr):
        kind = obj.get("type")
        if "type" not in obj:
            inner.add("missing required field: type", ptr)
        elif kind not in types:
            inner.add("must be a valid enum value", f"{ptr}/type")
        if "text" not in obj:
            inner.add("missing required field: text", ptr)
        else:
            _string(inner, obj["text"], f"{ptr}/text", _most(limit), at_least=1)
        flag = {"plain_text": "emoji", "mrkdwn": "verbatim"}.get(str(kind))
        _extra(inner, obj, frozenset({"type", "text"} | ({flag} if flag else {"emoji", "verbatim"})), ptr)
        for key in ("emoji", "verbatim"):
            _boolean(inner, obj, key, ptr)
    if inner.problems:
        r.add("failed to match all allowed schemas", ptr)
        r.extend(inner)


def _option(r: _Report, obj: Any, ptr: str, text_types: frozenset[str], *, url_allowed: bool = False) -> None:
    """An option (OPTION_URL): text (75), value (150), description (75); ``url`` only in an overflow menu."""
    if not _object(r, obj, ptr):
        return
    _required(r, obj, ("text", "value"), ptr)
    allowed = {"text", "value", "description"} | ({"url"} if url_allowed else set())
    _extra(r, obj, frozenset(allowed), ptr)
    if "text" in obj:
        _text(r, obj["text"], f"{ptr}/text", "option_text", text_types)
    _optional_string(r, obj, "value", ptr, "option_value")
    if "description" in obj:
        _text(r, obj["description"], f"{ptr}/description", "option_description", text_types)
    if url_allowed:
        _optional_string(r, obj, "url", ptr, "option_url")


def _options(r: _Report, obj: Mapping[str, Any], ptr: str, most: str, text_types: frozenset[str],
             *, url_allowed: bool = False, at_least: int = 0) -> None:
    if "options" in obj and _array(r, obj["options"], f"{ptr}/options", _most(most), at_least=at_least):
        for i, option in enumerate(obj["options"]):
            _option(r, option, f"{ptr}/options/{i}", text_types, url_allowed=url_allowed)


def _option_groups(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """OPTION_GROUP_URL: up to 100 groups, each a plain_text label (75) and up to 100 options."""
    if "option_groups" not in obj or not _array(r, obj["option_groups"], f"{ptr}/option_groups",
                                               _most("select_option_groups")):
        return
    for i, group in enumerate(obj["option_groups"]):
        at = f"{ptr}/option_groups/{i}"
        if not _object(r, group, at):
            continue
        _required(r, group, ("label", "options"), at)
        _extra(r, group, frozenset({"label", "options"}), at)
        if "label" in group:
            _text(r, group["label"], f"{at}/label", "option_group_label", PLAIN)
        _options(r, group, at, "option_group_options", PLAIN)


def _option_key(option: Any) -> tuple[Any, Any] | None:
    if not isinstance(option, dict):
        return None
    text = option.get("text")
    return option.get("value"), text.get("text") if isinstance(text, dict) else text


def _initial_option(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """``initial_option`` "exactly matches one of the options": Slack answers "must be one of the provided
    options". Matched on value and text, not on flags such as ``emoji`` (never stricter than Slack)."""
    if "initial_option" not in obj:
        return
    choices = [o for o in obj.get("options") or [] if isinstance(o, dict)]
    for group in obj.get("option_groups") or []:
        if isinstance(group, dict):
            choices += [o for o in group.get("options") or [] if isinstance(o, dict)]
    initial = obj["initial_option"]
    if not isinstance(initial, dict):
        r.add("must provide an object", f"{ptr}/initial_option")
    elif _option_key(initial) not in {_option_key(o) for o in choices}:
        r.add("must be one of the provided options", f"{ptr}/initial_option")


def _confirm(r: _Report, obj: Any, ptr: str) -> None:
    """A confirmation dialog (CONFIRM_URL): title (100), text (300), confirm and deny (30) all required; title,
    confirm and deny plain_text; text plain_text or mrkdwn; style primary or danger."""
    if not _object(r, obj, ptr):
        return
    _required(r, obj, ("title", "text", "confirm", "deny"), ptr)
    _extra(r, obj, frozenset({"title", "text", "confirm", "deny", "style"}), ptr)
    for key, limit, types in (("title", "confirm_title", PLAIN), ("text", "confirm_text", ANY_TEXT),
                              ("confirm", "confirm_confirm", PLAIN), ("deny", "confirm_deny", PLAIN)):
        if key in obj:
            _text(r, obj[key], f"{ptr}/{key}", limit, types)
    _style(r, obj, ptr)


def _style(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    if "style" in obj:
        if not isinstance(obj["style"], str):
            r.add("must provide a string", f"{ptr}/style")
        elif obj["style"] not in ("primary", "danger"):
            r.add("must be a valid enum value", f"{ptr}/style")


def _filter(r: _Report, obj: Any, ptr: str) -> None:
    """A conversation filter (FILTER_URL): at least one of its fields; ``include`` a non-empty array of im, mpim,
    private, public."""
    keys = ("include", "exclude_external_shared_channels", "exclude_bot_users")
    if not _object(r, obj, ptr):
        return
    _extra(r, obj, frozenset(keys), ptr)
    if not any(key in obj for key in keys):
        r.add("missing required field: include", ptr)
    if "include" in obj and _array(r, obj["include"], f"{ptr}/include", at_least=1):
        for i, kind in enumerate(obj["include"]):
            if kind not in ("im", "mpim", "private", "public"):
                r.add("must be a valid enum value", f"{ptr}/include/{i}")
    for key in keys[1:]:
        _boolean(r, obj, key, ptr)


# -- block elements ----------------------------------------------------------------------------------------------

_ActionIds = dict[str, str]  # action_id -> pointer of the element that has it, within one block


def _action_id(r: _Report, obj: Mapping[str, Any], ptr: str, seen: _ActionIds) -> None:
    """``action_id``: 1-255 characters, "unique among all other action_ids in the containing block" (BUTTON_URL).
    Slack refuses a repeat: invalid_blocks on chat.postMessage, invalid_command_response on a slash command's ack
    (NOTES.md). The message's wording is ours; Slack's own is not known."""
    if "action_id" not in obj:
        return
    value = obj["action_id"]
    _string(r, value, f"{ptr}/action_id", _most("action_id"), at_least=1)
    if isinstance(value, str):
        if value in seen:
            r.add(f"action_id '{value}' already used in this block at {seen[value]}", f"{ptr}/action_id")
        else:
            seen[value] = ptr


def _placeholder(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    if "placeholder" in obj:
        _text(r, obj["placeholder"], f"{ptr}/placeholder", "placeholder", PLAIN)


def _button(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """BUTTON_URL: text plain_text (75) required; value (2000), url (3000), style, confirm,
    accessibility_label (75). Newer optional fields slack_sdk knows are allowed too."""
    _required(r, obj, ("text",), ptr)
    _extra(r, obj, frozenset({"type", "text", "action_id", "url", "value", "style", "confirm",
                              "accessibility_label", "agent_prompt", "agent_prompt_display", "alt_text",
                              "visible_to_user_ids"}), ptr)
    if "text" in obj:
        _text(r, obj["text"], f"{ptr}/text", "button_text", PLAIN)
    _optional_string(r, obj, "value", ptr, "button_value")
    _optional_string(r, obj, "url", ptr, "button_url")
    _optional_string(r, obj, "accessibility_label", ptr, "button_accessibility_label")
    _style(r, obj, ptr)
    if "confirm" in obj:
        _confirm(r, obj["confirm"], f"{ptr}/confirm")


def _static_select(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """SELECT_URL: options (up to 100, plain_text only) or option_groups; placeholder (150); initial_option one
    of the options; confirm."""
    _extra(r, obj, frozenset({"type", "action_id", "options", "option_groups", "initial_option", "confirm",
                              "focus_on_load", "placeholder"}), ptr)
    if "options" not in obj and "option_groups" not in obj:
        r.add("missing required field: options", ptr)
    _options(r, obj, ptr, "select_options", PLAIN)
    _option_groups(r, obj, ptr)
    _initial_option(r, obj, ptr)
    _placeholder(r, obj, ptr)
    _boolean(r, obj, "focus_on_load", ptr)
    if "confirm" in obj:
        _confirm(r, obj["confirm"], f"{ptr}/confirm")


def _radio_buttons(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """RADIO_URL: options required, at most 10, plain_text or mrkdwn; initial_option one of them; confirm."""
    _required(r, obj, ("options",), ptr)
    _extra(r, obj, frozenset({"type", "action_id", "options", "initial_option", "confirm", "focus_on_load"}), ptr)
    _options(r, obj, ptr, "radio_options", ANY_TEXT)
    _initial_option(r, obj, ptr)
    _boolean(r, obj, "focus_on_load", ptr)
    if "confirm" in obj:
        _confirm(r, obj["confirm"], f"{ptr}/confirm")


def _overflow(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """OVERFLOW_URL: "an array of up to five option objects" (plain_text; ``url`` allowed here only); confirm."""
    _required(r, obj, ("options",), ptr)
    _extra(r, obj, frozenset({"type", "action_id", "options", "confirm"}), ptr)
    _options(r, obj, ptr, "overflow_options", PLAIN, url_allowed=True, at_least=1)  # slack_sdk: 1 to 5
    if "confirm" in obj:
        _confirm(r, obj["confirm"], f"{ptr}/confirm")


def _plain_text_input(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """PLAIN_INPUT_URL: placeholder (150), initial_value, multiline, min_length (0-3000), max_length."""
    _extra(r, obj, frozenset({"type", "action_id", "initial_value", "multiline", "min_length", "max_length",
                              "dispatch_action_config", "focus_on_load", "placeholder"}), ptr)
    _placeholder(r, obj, ptr)
    _optional_string(r, obj, "initial_value", ptr)
    for key in ("multiline", "focus_on_load"):
        _boolean(r, obj, key, ptr)
    for key in ("min_length", "max_length"):
        value = obj.get(key)
        if key in obj and (not isinstance(value, int) or isinstance(value, bool)):
            r.add("must provide an integer", f"{ptr}/{key}")
    minimum = obj.get("min_length")
    if isinstance(minimum, int) and not isinstance(minimum, bool) and minimum > _most("plain_input_min_length"):
        r.add(f"must be less than {_most('plain_input_min_length') + 1}", f"{ptr}/min_length")


def _number_input(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """NUMBER_INPUT_URL: is_decimal_allowed (boolean) required; initial_value, min_value and max_value are
    strings ("cannot be greater than max_value"); placeholder (150)."""
    _required(r, obj, ("is_decimal_allowed",), ptr)
    _extra(r, obj, frozenset({"type", "action_id", "is_decimal_allowed", "initial_value", "min_value",
                              "max_value", "dispatch_action_config", "focus_on_load", "placeholder"}), ptr)
    for key in ("is_decimal_allowed", "focus_on_load"):
        _boolean(r, obj, key, ptr)
    for key in ("initial_value", "min_value", "max_value"):
        _optional_string(r, obj, key, ptr)
    _placeholder(r, obj, ptr)
    low, high = _number(obj.get("min_value")), _number(obj.get("max_value"))
    if low is not None and high is not None and low > high:
        r.add("min_value cannot be greater than max_value", f"{ptr}/min_value")  # our wording


def _number(value: Any) -> float | None:
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _conversations_select(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """SELECT_URL#conversations_select: placeholder (150), initial_conversation, default_to_current_conversation,
    response_url_enabled, filter (FILTER_URL), confirm."""
    _extra(r, obj, frozenset({"type", "action_id", "placeholder", "initial_conversation", "confirm", "filter",
                              "default_to_current_conversation", "response_url_enabled", "focus_on_load"}), ptr)
    _placeholder(r, obj, ptr)
    _optional_string(r, obj, "initial_conversation", ptr)
    for key in ("default_to_current_conversation", "response_url_enabled", "focus_on_load"):
        _boolean(r, obj, key, ptr)
    if "filter" in obj:
        _filter(r, obj["filter"], f"{ptr}/filter")
    if "confirm" in obj:
        _confirm(r, obj["confirm"], f"{ptr}/confirm")


def _image_source(r: _Report, obj: Mapping[str, Any], ptr: str, url_limit: str) -> None:
    """Either image_url or slack_file, not both (IMAGE_BLOCK_URL, IMAGE_ELEMENT_URL; @slack/types: "If both are
    provided then the payload will be rejected")."""
    if "image_url" not in obj and "slack_file" not in obj:
        r.add("missing required field: image_url", ptr)
    elif "image_url" in obj and "slack_file" in obj:
        r.add("invalid additional property: slack_file", ptr)
    _optional_string(r, obj, "image_url", ptr, url_limit)
    if "slack_file" in obj:
        _object(r, obj["slack_file"], f"{ptr}/slack_file")


def _image_element(r: _Report, obj: Mapping[str, Any], ptr: str) -> None:
    """IMAGE_ELEMENT_URL: alt_text required, image_url (3000) or slack_file."""
    _required(r, obj, ("alt_text",), ptr)
    _extra(r, obj, frozenset({"type", "alt_text", "image_url", "slack_file"}), ptr)
    _optional_string(r, obj, "alt_text", ptr)
    _image_source(r, obj, ptr, "element_image_url")


_ELEMENTS: Final[dict[str, Callable[[_Report, Mapping[str, Any], str], None]]] = {
    "button": _button,
    "static_select": _static_select,
    "radio_buttons": _radio_buttons,
    "overflow": _overflow,
    "plain_text_input": _plain_text_input,
    "number_input": _number_input,
    "conversations_select": _conversations_select,
    "image": _image_element,
}

# Which element types each block takes, from each block's and element's reference page ("works with blocks") and
# https://docs.slack.dev/blocks.json ("compatible-block-elements"). Types outside ``_ELEMENTS`` are accepted with
# only their action_id checked: documented, but not used by this bot.
_SELECTS: Final = frozenset({"static_select", "external_select", "users_select", "conversations_select",
                             "channels_select", "multi_static_select", "multi_external_select", "multi_users_select",
                             "multi_conversations_select", "multi_channels_select"})
ACTIONS_ELEMENTS: Final = _SELECTS | {"button", "checkboxes", "datepicker", "datetimepicker", "overflow",
                                      "radio_buttons", "rich_text_input", "timepicker", "workflow_button"}
SECTION_ACCESSORIES: Final = _SELECTS | {"button", "checkboxes", "datepicker", "image", "overflow", "radio_buttons",
                                         "timepicker", "workflow_button"}
INPUT_ELEMENTS: Final = _SELECTS | {"checkboxes", "datepicker", "datetimepicker", "email_text_input", "file_input",
                                    "number_input", "plain_text_input", "radio_buttons", "rich_text_input",
                                    "timepicker", "url_text_input"}


def _element(r: _Report, obj: Any, ptr: str, allowed: frozenset[str], seen: _ActionIds) -> None:
    if not _object(r, obj, ptr):
        return
    kind = obj.get("type")
    if "type" not in obj:
        r.add("missing required field: type", ptr)
        return
    if kind not in allowed:
        r.add(f"unsupported type: {kind}", f"{ptr}/type")
        return
    _action_id(r, obj, ptr, seen)
    if isinstance(kind, str) and kind in _ELEMENTS:
        _ELEMENTS[kind](r, obj, ptr)


# -- blocks ----------------------------------------------------------------------------------------------------


def _section(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """SECTION_URL: text (3000) or fields (at most 10, 2000 each), any text type; accessory; expand."""
    _extra(r, block, frozenset({"type", "block_id", "text", "fields", "accessory", "expand"}), ptr)
    if "text" not in block and "fields" not in block:
        r.add("missing required field: text", ptr)
    if "text" in block:
        _text(r, block["text"], f"{ptr}/text", "section_text")
    if "fields" in block and _array(r, block["fields"], f"{ptr}/fields", _most("section_fields")):
        for i, field in enumerate(block["fields"]):
            _text(r, field, f"{ptr}/fields/{i}", "section_field_text")
    if "accessory" in block:
        _element(r, block["accessory"], f"{ptr}/accessory", SECTION_ACCESSORIES, {})
    _boolean(r, block, "expand", ptr)


def _context(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """CONTEXT_URL: 1 to 10 elements, each an image element or a text object."""
    _required(r, block, ("elements",), ptr)
    _extra(r, block, frozenset({"type", "block_id", "elements"}), ptr)
    if "elements" not in block or not _array(r, block["elements"], f"{ptr}/elements", _most("context_elements"),
                                             at_least=1):
        return
    for i, element in enumerate(block["elements"]):
        at = f"{ptr}/elements/{i}"
        if isinstance(element, dict) and element.get("type") in ANY_TEXT:
            _text(r, element, at)
        else:
            _element(r, element, at, frozenset({"image"}), {})


def _actions(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """ACTIONS_URL: 1 to 25 interactive elements, action_ids unique within the block."""
    _required(r, block, ("elements",), ptr)
    _extra(r, block, frozenset({"type", "block_id", "elements"}), ptr)
    if "elements" in block and _array(r, block["elements"], f"{ptr}/elements", _most("actions_elements"),
                                      at_least=1):
        seen: _ActionIds = {}
        for i, element in enumerate(block["elements"]):
            _element(r, element, f"{ptr}/elements/{i}", ACTIONS_ELEMENTS, seen)


def _divider(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """DIVIDER_URL: nothing but type and block_id."""
    _extra(r, block, frozenset({"type", "block_id"}), ptr)


def _header(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """HEADER_URL: text, plain_text, at most 150 characters."""
    _required(r, block, ("text",), ptr)
    _extra(r, block, frozenset({"type", "block_id", "text"}), ptr)
    if "text" in block:
        _text(r, block["text"], f"{ptr}/text", "header_text", PLAIN)


def _input(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """INPUT_URL: label (plain_text, 2000) and element required; hint (plain_text, 2000); optional;
    dispatch_action (not with a file_input)."""
    _required(r, block, ("label", "element"), ptr)
    _extra(r, block, frozenset({"type", "block_id", "label", "element", "hint", "optional", "dispatch_action"}),
           ptr)
    if "label" in block:
        _text(r, block["label"], f"{ptr}/label", "input_label", PLAIN)
    if "hint" in block:
        _text(r, block["hint"], f"{ptr}/hint", "input_hint", PLAIN)
    if "element" in block:
        _element(r, block["element"], f"{ptr}/element", INPUT_ELEMENTS, {})
        element = block["element"]
        if block.get("dispatch_action") is True and isinstance(element, dict) and element.get("type") == "file_input":
            r.add("unsupported type: file_input", f"{ptr}/element/type")
    for key in ("optional", "dispatch_action"):
        _boolean(r, block, key, ptr)


def _image_block(r: _Report, block: Mapping[str, Any], ptr: str) -> None:
    """IMAGE_BLOCK_URL: alt_text (2000) required; image_url (3000) or slack_file; title plain_text (2000). The
    fields Slack adds when it returns an image block (image_width, ..., fallback) are let through, so that blocks
    read back from Slack and sent again are never refused here."""
    _required(r, block, ("alt_text",), ptr)
    _extra(r, block, frozenset({"type", "block_id", "alt_text", "image_url", "slack_file", "title", "image_width",
                                "image_height", "image_bytes", "is_animated", "fallback"}), ptr)
    _optional_string(r, block, "alt_text", ptr, "image_alt_text")
    _image_source(r, block, ptr, "image_url")
    if "title" in block:
        _text(r, block["title"], f"{ptr}/title", "image_title", PLAIN)


_BLOCKS: Final[dict[str, Callable[[_Report, Mapping[str, Any], str], None]]] = {
    "section": _section,
    "context": _context,
    "actions": _actions,
    "divider": _divider,
    "header": _header,
    "input": _input,
    "image": _image_block,
}
# Documented block types this bot does not use: accepted with only their block_id checked (never stricter).
OTHER_BLOCKS: Final = frozenset({"alert", "call", "card", "carousel", "container", "context_actions", "file",
                                 "markdown", "plan", "rich_text", "table", "task_card", "video"})


def _blocks(r: _Report, blocks: Any, ptr: str, most: int) -> None:
    """A surface's blocks: at most ``most``, each valid, block_ids unique within the message or view. Slack
    refuses a repeated block_id ("Block ID needs to be unique" from views.open, NOTES.md); the advice to change
    block_ids on each update of a message is not a refusal, and is not checked (one payload at a time)."""
    if not _array(r, blocks, ptr, most):
        return
    block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        at = f"{ptr}/{i}"
        if not _object(r, block, at):
            continue
        kind = block.get("type")
        if "type" not in block:
            r.add("missing required field: type", at)
            continue
        if kind not in _BLOCKS and kind not in OTHER_BLOCKS:
            r.add(f"unsupported type: {kind}", f"{at}/type")
            continue
        if "block_id" in block:
            block_id = block["block_id"]
            _string(r, block_id, f"{at}/block_id", _most("block_id"), at_least=1)
            if isinstance(block_id, str):
                if block_id in block_ids:
                    r.add("Block ID needs to be unique", f"{at}/block_id")
                block_ids.add(block_id)
        if isinstance(kind, str) and kind in _BLOCKS:
            _BLOCKS[kind](r, block, at)


# -- messages --------------------------------------------------------------------------------------------------

def _missing(value: Any) -> bool:
    """Absent, as Slack reads it: not sent, null, or an empty form value."""
    return value is None or value == ""


def _decoded(value: Any) -> Any:
    """A JSON-text argument (as form-encoded clients send it) decoded; anything else as it is."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def message_problems(payload: Mapping[str, Any]) -> list[str]:
    """What Slack refuses in a message: the arguments of chat.postMessage / chat.update / chat.postEphemeral, a
    response_url POST body, or a slash command's ack body. ``blocks`` may be absent, a list, or JSON text.
    ``response_type`` ("in_channel" or "ephemeral") and ``replace_original`` / ``delete_original`` (booleans, or
    "true"/"false") are the response_url and ack fields (INTERACTION_URL). The top-level ``text`` is never a
    problem: Slack does not require it next to blocks, and truncates it past 40,000 characters
    (``message_warnings``)."""
    r = _Report()
    if not _missing(payload.get("blocks")):
        _blocks(r, _decoded(payload["blocks"]), "/blocks", _most("message_blocks"))
    if "response_type" in payload and payload["response_type"] not in ("in_channel", "ephemeral"):
        r.add("must be a valid enum value", "/response_type")
    for key in ("replace_original", "delete_original"):
        if key in payload and not (isinstance(payload[key], bool) or payload[key] in ("true", "false")):
            r.add("must provide a boolean", f"/{key}")
    return r.problems


def message_warnings(payload: Mapping[str, Any]) -> list[str]:
    """The warnings Slack adds to an accepted message (``warning`` and ``response_metadata.warnings``):
    ``message_truncated`` when ``text`` has more than 40,000 characters (CHAT_UPDATE_URL, "Warnings"; Slack keeps
    the first 40,000). Blocks without a top-level ``text`` get no warning from Slack: the "missing text" warning
    is the SDK's, logged client-side (``missing_text_notice``)."""
    text = payload.get("text")
    if isinstance(text, str) and slack_length(text) > _most("message_text"):
        return ["message_truncated"]
    return []


def truncated_text(text: str) -> str:
    """The text Slack keeps of a message's ``text``: its first 40,000 characters."""
    return text[:_most("message_text")]


def missing_text_notice(method: str, payload: Mapping[str, Any]) -> str | None:
    """What slack_sdk (3.48, ``web/internal_utils.py``) logs as a UserWarning when a chat.* call has no top-level
    ``text`` (nor ``markdown_text``): a client-side notice, never part of Slack's answer."""
    for key in ("text", "markdown_text"):
        value = payload.get(key)
        if isinstance(value, str) and value.strip():
            return None
    return (f"The top-level `text` argument is missing in the request payload for a {method} call - "
            "It's a best practice to always provide a `text` argument when posting a message. "
            "The `text` argument is used in places where content cannot be rendered such as: "
            "system push notifications, assistive technology such as screen readers, etc.")


def chat_refusal(problems: list[str]) -> dict[str, Any]:
    """Slack's answer to chat.postMessage / chat.update / chat.postEphemeral with blocks it refuses: the
    problems in ``response_metadata.messages``, and without their "[ERROR] " in ``errors``."""
    return {"ok": False, "error": "invalid_blocks", "errors": [p.removeprefix("[ERROR] ") for p in problems],
            "response_metadata": {"messages": list(problems)}}


# -- views -----------------------------------------------------------------------------------------------------

_MODAL_FIELDS: Final = ("title", "submit", "close")


def view_problems(view: Any, kind: str) -> list[str]:
    """What Slack refuses in a view for views.open / push / update (``kind`` "modal") or views.publish ("home").
    A view that fails starts its problems with "failed to match all allowed schemas [json-pointer:/view]", as
    Slack answers."""
    r = _Report()
    view = _decoded(view)
    if view is None:
        return ["[ERROR] missing required field: view"]
    if _object(r, view, "/view"):
        _view(r, view, kind)
    if r.problems:
        return ["[ERROR] failed to match all allowed schemas [json-pointer:/view]", *r.problems]
    return r.problems


def _view(r: _Report, view: Mapping[str, Any], kind: str) -> None:
    if "type" not in view:
        r.add("missing required field: type", "/view")
    elif view["type"] != kind:
        r.add("must be a valid enum value", "/view/type")
    _required(r, view, ("blocks",) if kind == "home" else ("title", "blocks"), "/view")
    if kind == "modal":
        limits = {"title": "modal_title", "submit": "modal_submit", "close": "modal_close"}
        for key in _MODAL_FIELDS:
            if key in view:
                _text(r, view[key], f"/view/{key}", limits[key], PLAIN)
        blocks = view.get("blocks")
        has_input = isinstance(blocks, list) and any(isinstance(b, dict) and b.get("type") == "input"
                                                     for b in blocks)
        if has_input and "submit" not in view:  # "submit is required when an input block is within the blocks"
            r.add("missing required field: submit", "/view")
        for key in ("clear_on_close", "notify_on_close"):
            _boolean(r, view, key, "/view")
    _optional_string(r, view, "private_metadata", "/view", "private_metadata")
    _optional_string(r, view, "callback_id", "/view", "callback_id")
    _optional_string(r, view, "external_id", "/view")  # no documented length; unique per team (the fake's part)
    if "blocks" in view:
        _blocks(r, view["blocks"], "/view/blocks", _most("view_blocks"))


def view_size_too_large(view: Any) -> bool:
    """Slack's view_too_large: "the provided view is greater than 250kb" (VIEWS_OPEN_URL), measured on the view's
    JSON text in UTF-8, and read as 250 KiB (256,000 bytes): the lenient reading, so never stricter than Slack."""
    text = view if isinstance(view, str) else json.dumps(view, separators=(",", ":"), ensure_ascii=False)
    return len(text.encode("utf-8")) > _most("view_bytes")


def views_refusal(problems: list[str]) -> dict[str, Any]:
    """Slack's answer to views.open / push / update / publish with a view it refuses."""
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": list(problems)}}


def view_submission_ack_problems(body: Mapping[str, Any] | None, view: Mapping[str, Any]) -> list[str]:
    """What Slack refuses in the ack to a ``view_submission`` of ``view`` (MODALS_GUIDE_URL): an empty body;
    ``{"response_action": "errors", "errors": {block_id: message}}`` whose keys are block_ids of input blocks of
    that view and whose messages are non-empty strings (Slack documents no length for them); "update" or "push"
    with a ``view`` (checked as a modal); or "clear"."""
    r = _Report()
    if not body:
        return []
    action = body.get("response_action")
    if action not in ("errors", "update", "push", "clear"):
        r.add("must be a valid enum value", "/response_action")
        return r.problems
    if action == "errors":
        inputs = {b.get("block_id") for b in view.get("blocks") or [] if isinstance(b, dict)
                  and b.get("type") == "input" and isinstance(b.get("block_id"), str)}
        errors = body.get("errors")
        if "errors" not in body:
            r.add("missing required field: errors", None)
        elif not isinstance(errors, dict) or not errors:
            r.add("must provide an object", "/errors")
        else:
            for block_id, message in errors.items():
                if block_id not in inputs:
                    r.add(f"no input block has block_id '{block_id}'", f"/errors/{block_id}")  # our wording
                _string(r, message, f"/errors/{block_id}", at_least=1)
    elif action in ("update", "push"):
        if "view" not in body:
            r.add("missing required field: view", None)
        else:
            r.problems += view_problems(body["view"], "modal")
    return r.problems


# -- Web API arguments -----------------------------------------------------------------------------------------

_Answer = dict[str, Any]


def _error(code: str) -> _Answer:
    return {"ok": False, "error": code}


def _invalid(messages: list[str]) -> _Answer:
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": messages}}


# What each argument must be. "string": a string (a number is taken as text); "boolean": true/false, 0/1 or any
# form value ("1", "true"); "integer": an integer or its digits; "json_array" / "json_object": the value or its
# JSON text. Arguments not listed are not checked.
_KINDS: Final[dict[str, dict[str, str]]] = {
    "auth.test": {},
    "apps.connections.open": {},
    "chat.postMessage": {
        "channel": "string", "text": "string", "blocks": "json_array", "attachments": "json_array",
        "metadata": "json_object", "markdown_text": "string", "thread_ts": "string", "icon_emoji": "string",
        "icon_url": "string", "username": "string", "parse": "string", "as_user": "boolean",
        "link_names": "boolean", "mrkdwn": "boolean", "reply_broadcast": "boolean", "unfurl_links": "boolean",
        "unfurl_media": "boolean"},
    "chat.update": {
        "channel": "string", "ts": "string", "text": "string", "blocks": "json_array", "attachments": "json_array",
        "metadata": "json_object", "markdown_text": "string", "parse": "string", "as_user": "boolean",
        "link_names": "boolean", "reply_broadcast": "boolean", "file_ids": "json_array"},
    "chat.postEphemeral": {
        "channel": "string", "user": "string", "text": "string", "blocks": "json_array", "attachments": "json_array",
        "markdown_text": "string", "thread_ts": "string", "icon_emoji": "string", "icon_url": "string",
        "username": "string", "parse": "string", "as_user": "boolean", "link_names": "boolean"},
    "conversations.history": {
        "channel": "string", "cursor": "string", "latest": "string", "oldest": "string", "limit": "integer",
        "inclusive": "boolean", "include_all_metadata": "boolean"},
    "conversations.replies": {
        "channel": "string", "ts": "string", "cursor": "string", "latest": "string", "oldest": "string",
        "limit": "integer", "inclusive": "boolean", "include_all_metadata": "boolean"},
    "conversations.open": {"channel": "string", "return_im": "boolean", "prevent_creation": "boolean"},
    "files.getUploadURLExternal": {"filename": "string", "length": "integer", "alt_txt": "string",
                                   "snippet_type": "string"},
    "files.completeUploadExternal": {
        "files": "json_array", "channel_id": "string", "channels": "string", "thread_ts": "string",
        "initial_comment": "string", "blocks": "json_array"},
    "views.open": {"view": "json_object", "trigger_id": "string", "interactivity_pointer": "string"},
    "views.push": {"view": "json_object", "trigger_id": "string", "interactivity_pointer": "string"},
    "views.update": {"view": "json_object", "view_id": "string", "external_id": "string", "hash": "string"},
    "views.publish": {"view": "json_object", "user_id": "string", "hash": "string"},
    "functions.completeSuccess": {"function_execution_id": "string", "outputs": "json_object"},
    "functions.completeError": {"function_execution_id": "string", "error": "string"},
    "users.info": {"user": "string", "include_locale": "boolean"},
}

# Required arguments (https://docs.slack.dev/reference/methods/<method>, "Required arguments") and what Slack
# answers when one is missing: the method's own error for the older chat/conversations/users methods, or
# invalid_arguments "missing required field: <arg>" (None here) for the schema-validated views/files/functions.
_REQUIRED: Final[dict[str, tuple[tuple[str, str | None], ...]]] = {
    "chat.postMessage": (("channel", "channel_not_found"),),
    "chat.update": (("channel", "channel_not_found"), ("ts", "message_not_found")),
    "chat.postEphemeral": (("channel", "channel_not_found"), ("user", "user_not_in_channel")),
    "conversations.history": (("channel", "channel_not_found"),),
    "conversations.replies": (("channel", "channel_not_found"), ("ts", "thread_not_found")),
    "files.getUploadURLExternal": (("filename", None), ("length", None)),
    "files.completeUploadExternal": (("files", None),),
    "views.open": (("view", None),),
    "views.push": (("view", None),),
    "views.update": (("view", None),),
    "views.publish": (("user_id", None), ("view", None)),
    "functions.completeSuccess": (("function_execution_id", None), ("outputs", None)),
    "functions.completeError": (("function_execution_id", None), ("error", None)),
    "users.info": (("user", "user_not_found"),),
}

METHODS: Final = frozenset(_KINDS)


def _kind_problem(kind: str, value: Any, ptr: str) -> str | None:
    """Slack's message when ``value`` is not of ``kind``, or None. Never stricter than Slack: form values are
    strings, so a boolean may be any string, and JSON arguments may be their JSON text."""
    if value is None or (kind.startswith("json") and value == ""):
        return None
    if kind == "string":
        ok = isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))
        need = "a string"
    elif kind == "boolean":
        ok = isinstance(value, bool | int | str)
        need = "a boolean"
    elif kind == "integer":
        ok = (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.strip().lstrip("-").isdigit())
        need = "an integer"
    elif kind == "json_array":
        ok = isinstance(_decoded(value), list)
        need = "an array"
    else:  # json_object
        ok = isinstance(_decoded(value), dict)
        need = "an object"
    return None if ok else f"[ERROR] must provide {need} [json-pointer:{ptr}]"


def argument_problem(method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """Slack's answer to ``method`` called with ``params`` whose arguments it refuses, or None. Covers the methods
    in ``METHODS`` (the token is the fake's part, as are channels, triggers and messages that exist)."""
    if method not in _KINDS:
        return None
    for arg, code in _REQUIRED.get(method, ()):
        if code and _missing(params.get(arg)):
            return _error(code)
    if (special := _special_problem(method, params)) is not None:
        return special
    messages = [f"[ERROR] missing required field: {arg}" for arg, code in _REQUIRED.get(method, ())
                if code is None and params.get(arg) is None]
    for arg, kind in _KINDS[method].items():
        if (message := _kind_problem(kind, params.get(arg), f"/{arg}")) is not None:
            messages.append(message)
    messages += _value_problems(method, params)
    return _invalid(messages) if messages else None


def _special_problem(method: str, params: Mapping[str, Any]) -> dict[str, Any] | None:
    """The method's own errors for what its arguments say together (its reference page, "Errors")."""
    if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
        blocks = params.get("blocks")
        if not _missing(blocks) and not isinstance(_decoded(blocks), list):
            return _error("invalid_blocks_format")  # "not a valid JSON object or doesn't match Block Kit syntax"
        markdown = params.get("markdown_text")
        if not _missing(markdown) and (not _missing(params.get("text")) or not _missing(blocks)):
            return _error("markdown_text_conflict")  # "cannot be used in conjunction with blocks or text"
        if method != "chat.postEphemeral" and not _missing(params.get("metadata")) and \
                not isinstance(_decoded(params["metadata"]), dict):
            return _error("invalid_metadata_format")
        content = [params.get(k) for k in ("text", "blocks", "attachments", "markdown_text")]
        if all(_missing(v) or _decoded(v) == [] for v in content) and not params.get("file_ids"):
            return _error("no_text")
    if method == "conversations.open":
        users = params.get("users")
        names = [u for u in (users.split(",") if isinstance(users, str) else users or []) if str(u).strip()]
        if _missing(params.get("channel")) and not names:
            return _error("users_list_not_supplied")
        if len(names) > 8:
            return _error("too_many_users")  # "Needs at most 8 users to open"
    if method in ("conversations.history", "conversations.replies"):
        for key in ("oldest", "latest"):
            value = params.get(key)
            if not _missing(value) and _number(str(value)) is None and value != "now":
                return _error(f"invalid_ts_{key}")
    return None


def _value_problems(method: str, params: Mapping[str, Any]) -> list[str]:
    """Values a schema-validated method refuses although of the right kind."""
    messages: list[str] = []
    if method == "files.getUploadURLExternal":
        length = params.get("length")
        if _kind_problem("integer", length, "/length") is None and length is not None and int(length) < 1:
            messages.append("[ERROR] must be greater than 1 [json-pointer:/length]")  # Slack's wording; minimum 1
    if method == "files.completeUploadExternal" and isinstance(files := _decoded(params.get("files")), list):
        if not files:
            messages.append("[ERROR] no less than 1 items allowed [json-pointer:/files]")
        for i, item in enumerate(files):
            if not isinstance(item, dict):
                messages.append(f"[ERROR] must provide an object [json-pointer:/files/{i}]")
            elif "id" not in item:
                messages.append(f"[ERROR] missing required field: id [json-pointer:/files/{i}]")
    if method == "views.update" and _missing(params.get("view_id")) and _missing(params.get("external_id")):
        messages.append("[ERROR] missing required field: view_id")  # one of view_id / external_id; our wording
    return messages
