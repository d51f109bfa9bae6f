"""slack-app-manifest.yml: parses, names /fanout, and asks for exactly the bot scopes the code calls for.

"What the code calls for" is derived from bot/ itself: every Slack Web API method called on a client
(found by parsing the source) maps to its scopes through METHOD_SCOPES; a slash-command listener needs
``commands``; action listeners need interactivity. A new Slack call without a row here fails the test,
so the manifest cannot silently fall behind the code (or keep a scope nothing uses).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.web.async_base_client import AsyncBaseClient
from slack_sdk.web.async_client import AsyncWebClient

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "slack-app-manifest.yml"
BOT = ROOT / "bot"

# Slack Web API method (slack_sdk name) -> bot scopes it needs. Empty: needs none.
METHOD_SCOPES: dict[str, set[str]] = {
    "auth_test": set(),
    "apps_connections_open": set(),  # the app-level token's connections:write, not a bot scope
    "chat_postMessage": {"chat:write"},
    "chat_update": {"chat:write"},
    "chat_delete": {"chat:write"},
    "chat_postEphemeral": {"chat:write"},
    "files_upload_v2": {"files:write"},
    "files_getUploadURLExternal": {"files:write"},
    "files_completeUploadExternal": {"files:write"},
    "conversations_replies": {"channels:history", "groups:history"},
    "conversations_history": {"channels:history", "groups:history"},
    "conversations_info": {"channels:read", "groups:read"},
    "conversations_open": {"im:write"},
    "users_info": {"users:read"},
    "reactions_add": {"reactions:write"},
    "views_open": set(),
    "views_push": set(),
    "views_update": set(),
    "views_publish": set(),
    "functions_completeSuccess": set(),  # no scope (any bot token)
    "functions_completeError": set(),
}
# Scopes granted on purpose although no call maps to them, each with its reason. Keep this empty unless
# a behaviour needs it (e.g. chat:write.public to post in public channels the bot was not invited to).
POLICY_SCOPES: dict[str, str] = {}

SLACK_METHODS = {name for name in dir(AsyncWebClient) if not name.startswith("_")} - set(dir(AsyncBaseClient))


def sources() -> list[Path]:
    """The product's modules (the dev kit's fake Slack serves the methods; it calls none)."""
    return sorted(BOT.rglob("*.py"))


def slack_calls() -> dict[str, set[str]]:
    """Slack Web API method -> files that use it: ``<anything>.<method>`` where method is a WebClient method,
    called there or handed to a helper that calls it (bot.slack.calls.call(..., self.slack.chat_update))."""
    found: dict[str, set[str]] = {}
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in SLACK_METHODS:
                found.setdefault(node.attr, set()).add(path.name)
    return found


def listeners(kind: str) -> list[str]:
    """First arguments of ``@app.<kind>(...)`` decorators in bot/ (commands, actions, events...)."""
    names: list[str] = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == kind
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "app" and node.args
                    and isinstance(node.args[0], ast.Constant)):
                names.append(str(node.args[0].value))
    return names


def scopes_called_for() -> set[str]:
    calls = slack_calls()
    unmapped = sorted(set(calls) - set(METHOD_SCOPES))
    assert not unmapped, f"add these Slack methods (called in bot/) to METHOD_SCOPES: {unmapped} ({calls})"
    scopes = set().union(*(METHOD_SCOPES[m] for m in calls)) if calls else set()
    if listeners("command"):
        scopes.add("commands")
    return scopes


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def test_the_scan_sees_the_calls_we_know_of() -> None:
    calls = slack_calls()
    assert "chat_postMessage" in calls and "chat_update" in calls and "auth_test" in calls, calls
    assert "/fanout" in listeners("command")


def test_fanout_command(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) == set(listeners("command")) == {"/fanout"}
    fanout = commands["/fanout"]
    assert 1 <= len(fanout["description"]) <= 2000
    assert 1 <= len(fanout.get("usage_hint", "")) <= 1000
    assert "url" not in fanout, "Socket Mode: the command needs no url (add one only for HTTP mode)"


def test_bot_scopes_are_exactly_what_the_code_calls_for(manifest: dict[str, Any]) -> None:
    declared = set(manifest["oauth_config"]["scopes"]["bot"])
    needed = scopes_called_for() | set(POLICY_SCOPES)
    assert not needed - declared, f"missing scopes: {sorted(needed - declared)}"
    assert not declared - needed, f"scopes nothing in bot/ calls for: {sorted(declared - needed)}"
    assert "user" not in manifest["oauth_config"]["scopes"], "the bot needs no user scopes"


def test_settings(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["socket_mode_enabled"] is True
    assert settings["token_rotation_enabled"] is False
    interactive = listeners("action") + listeners("view") + listeners("shortcut")
    assert settings["interactivity"]["is_enabled"] is (len(interactive) > 0) is True  # buttons, the form
    if not listeners("event") and not listeners("message"):
        assert "event_subscriptions" not in settings, "the bot handles no events: subscribe to none"


def test_events_shortcuts_and_home_are_what_the_code_listens_for(manifest: dict[str, Any]) -> None:
    events = set(manifest["settings"].get("event_subscriptions", {}).get("bot_events", []))
    assert events == set(listeners("event")) | ({"function_executed"} if listeners("function") else set())
    assert events == {"app_home_opened", "function_executed"}
    shortcuts = {s["callback_id"]: s for s in manifest["features"].get("shortcuts", [])}
    assert set(shortcuts) == set(listeners("shortcut")) == {"fanout_new_run"}
    assert all(s["type"] == "global" and len(s["name"]) <= 24 and len(s["description"]) <= 150
               for s in shortcuts.values())
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is ("views_publish" in slack_calls()) is True


def test_fields_fit_slacks_schema(manifest: dict[str, Any]) -> None:
    # The limits of https://github.com/slackapi/manifest-schema (v1) that a hand edit is likely to break.
    assert set(manifest) <= {"_metadata", "display_information", "features", "oauth_config", "settings", "functions"}
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert 175 <= len(info.get("long_description", "x" * 175)) <= 4000
    assert 1 <= len(manifest["features"]["bot_user"]["display_name"]) <= 80
    for command in manifest["features"]["slash_commands"]:
        assert command["command"].startswith("/") and 2 <= len(command["command"]) <= 32
    assert set(manifest["settings"]) <= {"interactivity", "org_deploy_enabled", "socket_mode_enabled",
                                         "function_runtime", "token_rotation_enabled", "event_subscriptions",
                                         "allowed_ip_address_ranges"}


def test_the_workflow_builder_step_is_what_the_code_serves(manifest: dict[str, Any]) -> None:
    from bot.listeners.functions import step_text

    functions = manifest.get("functions", {})
    assert set(functions) == set(listeners("function")) == {"fanout_run"}
    step = functions["fanout_run"]
    inputs, outputs = step["input_parameters"], step["output_parameters"]
    assert set(inputs) == {"values", "fail_rule", "retries", "channel_id"}
    assert inputs["channel_id"]["type"] == "slack#/types/channel_id" and inputs["values"]["is_required"]
    assert set(outputs) == {"run_id", "success_count", "failure_count", "success_rate", "summary_link"}
    assert all(p["name"] == name for params in (inputs, outputs) for name, p in params.items())
    assert step_text({"values": "1-5", "fail_rule": "mod:3", "retries": 2}) == "1-5 --fail mod:3 --retries 2"
    assert manifest["settings"]["org_deploy_enabled"] is True and manifest["settings"]["function_runtime"] == "remote"
