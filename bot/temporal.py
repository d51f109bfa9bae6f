"""The one place that builds the Temporal client, for the bot, the worker and the tools.

Connection settings come from ``temporalio.envconfig`` (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE); with nothing set
it is ``localhost:7233``, namespace ``default``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig

log = logging.getLogger("fanout.temporal")
DEFAULT_ADDRESS = "localhost:7233"


class TemporalUnavailable(Exception):
    """Temporal could not be reached; the message says where we tried."""


def connect_config() -> dict[str, Any]:
    # An empty TEMPORAL_* variable (as a copied .env leaves them) means "unset", not "" —
    # envconfig would read TEMPORAL_API_KEY= as "use TLS", TEMPORAL_NAMESPACE= as namespace "".
    env = {k: v for k, v in os.environ.items() if v.strip() or not k.startswith("TEMPORAL_")}
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config(override_env_vars=env))
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return config


async def connect(*, wait: bool = False, timeout_s: float = 5.0, config: dict[str, Any] | None = None) -> Client:
    """Connect once; with ``wait``, keep trying (backing off to 10 s) until Temporal is up."""
    config = config or connect_config()
    delay = 0.5
    while True:
        try:
            return await asyncio.wait_for(Client.connect(**config), timeout_s)
        except (RuntimeError, OSError, asyncio.TimeoutError) as err:
            if not wait:
                raise TemporalUnavailable(f"cannot reach Temporal at {config['target_host']}: {err}") from None
            log.warning("Temporal at %s not reachable yet (%s); retrying in %.1fs", config["target_host"], err, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


class TemporalGateway:
    """A client that is connected on first use and again after an outage, never at import.

    The bot starts while Temporal is down and answers commands with a clear error until it
    is back; no restart needed.
    """

    def __init__(self, connect_timeout_s: float = 2.0, config: dict[str, Any] | None = None) -> None:
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._timeout = connect_timeout_s
        self._config = config or connect_config()  # read once, at start

    @property
    def address(self) -> str:
        return str(self._config["target_host"])

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await connect(timeout_s=self._timeout, config=self._config)
                log.info("connected to Temporal at %s", self.address)
            return self._client
