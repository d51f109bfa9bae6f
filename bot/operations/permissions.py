"""Who asks, and what they may do: the allow-lists (who may use /fanout where) and who may act on a run or a
schedule (FANOUT_CANCEL_POLICY). Users and channels are matched on Slack ids, never names.

The terminal CLI's user has the namespace already (they can reach Temporal): the allow-lists and the cancel
policy are Slack's, and do not apply to them.

/fanout runs in channels (public or private) only. A direct message or a group DM is refused, saying where to run
it: the bot cannot post in a DM between other people or a group DM it is not in, and reading its own DMs' history
(the retried post's check) would need the ``im:history`` scope, which the app does not ask for.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass

from bot.mrkdwn import mention
from bot.settings import Settings


@dataclass(frozen=True)
class Caller:
    """Who asks and from where: a Slack user in a channel of a workspace, or (``terminal``) a terminal user,
    ``cli:<login>``, whose scope is every run /fanout started."""

    user_id: str
    team_id: str = ""
    channel_id: str = ""
    channel_name: str = ""  # as a slash command gives it: "directmessage" and "mpdm-…" name DMs and group DMs
    terminal: bool = False

    @classmethod
    def at_terminal(cls) -> Caller:
        return cls(user_id=f"cli:{login()}", terminal=True)


def login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers): the uid says who
        return str(os.getuid())


def direct_message(channel_id: str, channel_name: str = "") -> str | None:
    """What kind of direct conversation this is ("a direct message", "a group DM"), or None for a channel. A DM's
    id starts with D; a group DM's id looks like a private channel's, so only its name (``mpdm-…``) tells."""
    if channel_id.startswith("D") or channel_name == "directmessage":
        return "a direct message"
    if channel_name.startswith("mpdm-"):
        return "a group DM"
    return None


def refusal(settings: Settings, caller: Caller) -> str | None:
    """Why this user may not use /fanout here, or None. Empty allow-lists mean everyone."""
    if caller.terminal:
        return None
    if kind := direct_message(caller.channel_id, caller.channel_name):
        return (f"/fanout runs in a channel, and this is {kind}. Type it in a channel where @fanout is a member "
                "(`/invite @fanout` adds it), or use the *Start a fan-out* shortcut and pick a channel.")
    if settings.allowed_channels and caller.channel_id not in settings.allowed_channels:
        return "/fanout is not enabled in this channel (FANOUT_ALLOWED_CHANNELS)."
    if settings.allowed_users and caller.user_id not in settings.allowed_users:
        return "You are not on the list of /fanout users (FANOUT_ALLOWED_USERS)."
    return None


def may_act(settings: Settings, caller: Caller, owner: str, what: str) -> str | None:
    """Why ``caller`` may not do ``what`` to something ``owner`` started, or None. FANOUT_CANCEL_POLICY:
    ``starter`` (the owner and FANOUT_ADMIN_USERS) or ``channel`` (anyone the allow-lists admit)."""
    if caller.terminal or settings.cancel_policy == "channel" or (owner and caller.user_id == owner):
        return None
    if caller.user_id in settings.admin_users:
        return None
    admins = ", ".join(mention(a) for a in sorted(settings.admin_users)[:5])
    who = [f"{mention(owner)} (who started it)"] if owner else []
    if admins or not who:  # nobody started it (a Workflow Builder step): only admins may
        who.append(f"an admin ({admins})" if admins else "an admin (FANOUT_ADMIN_USERS)")
    return f"Only {' or '.join(who)} can {what}."
