"""What a Temporal dev server counts of the RPCs it serves (its Prometheus endpoint, ``--metrics-port``):
the frontend's requests by method, with the workers' long polls apart. Used by the tests and the bench."""

from __future__ import annotations

import asyncio
import re

import aiohttp

LONG_POLLS = frozenset({"PollWorkflowTaskQueue", "PollActivityTaskQueue", "PollNexusTaskQueue"})
_LINE = re.compile(r'^service_requests\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')


async def frontend_requests(metrics_port: int) -> dict[str, float]:
    """Requests the frontend served so far, by RPC method."""
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{metrics_port}/metrics") as res:
        text = await res.text()
    counts: dict[str, float] = {}
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or 'service_name="frontend"' not in match["labels"]:
            continue
        operation = re.search(r'operation="([^"]+)"', match["labels"])
        if operation:
            counts[operation[1]] = counts.get(operation[1], 0.0) + float(match["value"])
    return counts


async def settled_requests(metrics_port: int, quiet_s: float = 1.0, timeout_s: float = 15.0) -> dict[str, float]:
    """The counts once they stop moving (the server reports its metrics with a short delay)."""
    last = await frontend_requests(metrics_port)
    waited = 0.0
    while waited < timeout_s:
        await asyncio.sleep(quiet_s)
        waited += quiet_s
        now = await frontend_requests(metrics_port)
        if {k: v for k, v in now.items() if k not in LONG_POLLS} == {k: v for k, v in last.items()
                                                                       if k not in LONG_POLLS}:
            return now
        last = now
    return last


def delta(before: dict[str, float], after: dict[str, float]) -> tuple[dict[str, int], dict[str, int]]:
    """(requests by method, long polls by method) between two counts; methods with none left out."""
    calls = {k: int(after[k] - before.get(k, 0.0)) for k in after if after[k] - before.get(k, 0.0) > 0}
    return ({k: v for k, v in calls.items() if k not in LONG_POLLS},
            {k: v for k, v in calls.items() if k in LONG_POLLS})
