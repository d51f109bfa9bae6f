"""Sends N signed slash commands to a Bolt app at once and prints each one's ack latency (ms) as
JSON. A separate process, so the measuring client does not share the bot's event loop.

    python -m bench.burst URL SIGNING_SECRET RESPONSE_URL N "/fanout text" CHANNEL
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import aiohttp

from devkit.fake_slack.requests import post_signed, slash_command_body


async def burst(url: str, secret: str, response_url: str, n: int, text: str, channel: str) -> list[dict[str, float]]:
    async with aiohttp.ClientSession() as session:
        await post_signed(url, slash_command_body("help", user_id="U0", channel_id="C0", response_url=response_url,
                                                  trigger_id="warm"), secret, session=session)  # warm the pool
        bodies = [slash_command_body(text, user_id=f"U{i}", channel_id=channel, response_url=response_url,
                                     trigger_id=f"burst-{uuid.uuid4().hex}") for i in range(n)]
        answers = await asyncio.gather(*(post_signed(url, body, secret, session=session) for body in bodies))
    return [{"status": status, "ms": seconds * 1000} for status, _, seconds in answers]


def main() -> None:
    url, secret, response_url, n, text, channel = sys.argv[1:7]
    print(json.dumps(asyncio.run(burst(url, secret, response_url, int(n), text, channel))))


if __name__ == "__main__":
    main()
