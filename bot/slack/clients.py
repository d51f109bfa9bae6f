"""The bot's two Slack Web API clients. Bolt's answers inside a request (Slack's 3 s), so it never sleeps on a 429:
a connection error is retried once, nothing else. The activities' has no retry handlers at all: a Slack
call made in an activity is retried by Temporal (bot.slack.calls)."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from runtime.config import ConfigError

SLACK_HTTP_TIMEOUT_S = 5  # well below the activities' 15 s start-to-close


def bolt_client(token: str, api_url: str) -> AsyncWebClient:
    """Bolt's client: answers within a request."""
    return AsyncWebClient(token=token, base_url=api_url,
                          retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)])


def activity_client(token: str, api_url: str) -> AsyncWebClient:
    """The activities' client: no retry handlers at all, Temporal retries (bot.slack.calls)."""
    return AsyncWebClient(token=token, base_url=api_url, timeout=SLACK_HTTP_TIMEOUT_S, retry_handlers=[])


async def workspace_of(slack: AsyncWebClient) -> str:
    """The workspace (team id) the token belongs to. Bolt does not verify the token at start: fail fast
    here instead of at the first command."""
    try:
        response = await slack.auth_test()
    except SlackApiError as err:
        raise ConfigError(f"SLACK_BOT_TOKEN was refused by Slack ({err.response.get('error')})") from None
    except (SlackClientError, OSError) as err:
        raise ConfigError(f"cannot reach the Slack API at SLACK_API_URL ({err})") from None
    return str(response.get("team_id") or "")
