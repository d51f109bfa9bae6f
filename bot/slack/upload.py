"""A file on disk uploaded to Slack without reading it into memory (the run's CSV: ~39 MB for 1,000,000
values).

slack_sdk's ``files_upload_v2`` reads the whole file into bytes before sending it, which put ~110 MB on the
bot's peak RSS for a 1,000,000-value CSV. This does the same three steps — ``files.getUploadURLExternal``
with the file's length, the file POSTed to the URL Slack gives (streamed from disk by aiohttp, with its
Content-Length), ``files.completeUploadExternal`` into the channel or thread — holding one chunk at a time.
"""

from __future__ import annotations

import os
from typing import Any

import aiohttp
from slack_sdk.errors import SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse


async def upload_file(slack: AsyncWebClient, *, file: str, filename: str, channel: str, title: str | None = None,
                      thread_ts: str | None = None, initial_comment: str | None = None,
                      **kwargs: Any) -> AsyncSlackResponse:
    """``files_upload_v2(file=<path>, ...)``, streamed: the same calls, the same answer (``files``)."""
    answer = await slack.files_getUploadURLExternal(filename=filename, length=os.path.getsize(file),
                                                    alt_txt=kwargs.get("alt_txt"))
    file_id, url = str(answer["file_id"]), str(answer["upload_url"])
    session = slack.session or aiohttp.ClientSession()
    try:
        with open(file, "rb") as body:
            async with session.post(url, data=body, proxy=slack.proxy, ssl=True if slack.ssl is None else slack.ssl,
                                    timeout=aiohttp.ClientTimeout(total=max(slack.timeout, 300))) as response:
                status, text = response.status, await response.text()
    finally:
        if session is not slack.session:
            await session.close()
    if status != 200:
        raise SlackRequestError(f"Failed to upload a file (status: {status}, body: {text}, filename: {filename})")
    completion = await slack.files_completeUploadExternal(files=[{"id": file_id, "title": title or filename}],
                                                          channel_id=channel, thread_ts=thread_ts,
                                                          initial_comment=initial_comment)
    files = completion.get("files") or []
    if len(files) == 1:
        completion.data["file"] = files[0]  # type: ignore[index]
    return completion
