"""Slack's mrkdwn, both ways. Untrusted text made safe to show: escaped (so `<!channel>` or a disguised link never
goes out under the bot's name), clipped without cutting an entity or a link, on one line, in code spans;
mentions, channel links, links and dates. And mrkdwn back to plain text, for a terminal or a form's inline
error. Pure.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

_SLACK_ID = re.compile(r"^[A-Z0-9]+$")
_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*\S)?)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(\S(?:[^_\n]*\S)?)_(?![\w_])")



def escape(text: str) -> str:
    """Escape the three characters Slack treats as control sequences in mrkdwn and fallback text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten already-escaped mrkdwn to ``limit`` chars with "…", never cutting an entity or a <link>."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    lt = cut.rfind("<")
    if lt != -1 and ">" not in cut[lt:]:
        cut = cut[:lt]
    return cut + "…"


def one_line(text: str) -> str:
    return " ".join(text.split())


def user_text(text: str, limit: int) -> str:
    """Untrusted text on one line, escaped and clipped (for use outside code spans)."""
    return clip(escape(one_line(text)), limit)


def code(text: str, limit: int = 200) -> str:
    """Untrusted text as an inline code span: escaped, one line, backticks neutralised, clipped."""
    inner = clip(escape(one_line(text).replace("`", "ˋ")), limit)
    return f"`{inner}`"


def mention(user_id: str) -> str:
    """``<@U123>`` for a well-formed Slack user id; anything else is shown escaped, never as a mention."""
    if _SLACK_ID.match(user_id):
        return f"<@{user_id}>"
    return user_text(user_id, 80) or "someone"


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>" if _SLACK_ID.match(channel_id) else user_text(channel_id, 80)


def link(url: str, label: str) -> str:
    """A mrkdwn link; ``label`` must already be safe mrkdwn. Empty url -> just the label."""
    if not url:
        return label
    return f"<{escape(url).replace('|', '%7C')}|{label}>"


def slack_date(iso: str) -> str:
    """A Slack date token (shown in the reader's time zone), with the raw ISO time as fallback."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return user_text(iso, 40)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fallback = moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mrkdwn_to_text(text: str, *, plain: bool = False) -> str:
    """Links become ``label (url)``, mentions ``@U123``; with ``plain``, *bold* and _italic_ marks go too."""
    text = _LINK.sub(r"\2 (\1)", text)
    text = _BARE_LINK.sub(r"\1", text)
    text = _MENTION.sub(lambda m: "@" + (m[2] or m[1]), text)
    text = _CHANNEL.sub(lambda m: "#" + (m[2] or m[1]), text)
    text = _SPECIAL.sub(r"@\1", text)
    text = _DATE.sub(r"\1", text)
    if plain:
        text = _BOLD.sub(r"\1", text)
        text = _ITALIC.sub(r"\1", text)
    return html.unescape(text)
