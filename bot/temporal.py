"""The one place that builds the Temporal client, for the bot, the worker and the tools.

Connection settings come from ``temporalio.envconfig`` only (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_GRPC_META_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, or
``~/.config/temporalio/temporal.toml``): a local dev server, a self-hosted cluster and Temporal Cloud
(API key or mTLS) differ only in configuration. With nothing set it is ``localhost:7233``, namespace
``default``.

The worker exports the SDK's metrics for Prometheus when FANOUT_METRICS_PORT is set
(``metrics_runtime``; pass the runtime to ``connect``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import timedelta
from typing import Any

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from bot.config import ConfigError, metrics_bind_address

log = logging.getLogger("fanout.temporal")
DEFAULT_ADDRESS = "localhost:7233"


class TemporalUnavailable(Exception):
    """Temporal could not be reached; the message says where we tried."""


def connect_config() -> dict[str, Any]:
    # An empty TEMPORAL_* variable (as a copied .env leaves them) means "unset", not "" —
    # envconfig would read TEMPORAL_API_KEY= as "use TLS", TEMPORAL_NAMESPACE= as namespace "".
    # Raises ConfigError (one line, naming the setting) for a missing config file, an unknown profile,
    # unreadable TLS files or a malformed TOML file.
    env = {k: v for k, v in os.environ.items() if v.strip() or not k.startswith("TEMPORAL_")}
    path = env.get("TEMPORAL_CONFIG_FILE", "").strip()
    if path:
        env["TEMPORAL_CONFIG_FILE"] = os.path.expanduser(path)  # a .env line is not shell-expanded
        if not os.path.isfile(env["TEMPORAL_CONFIG_FILE"]):
            raise ConfigError(f"TEMPORAL_CONFIG_FILE={path} does not exist")
    try:
        config: dict[str, Any] = dict(ClientConfig.load_client_connect_config(override_env_vars=env))
    except Exception as err:  # the SDK's bridge raises its own ConfigError type, or OSError/ValueError
        profile = env.get("TEMPORAL_PROFILE", "").strip() or "default"
        raise ConfigError(f"Temporal connection settings (profile {profile!r}): {err}") from None
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return config


def describe(config: dict[str, Any]) -> str:
    """Where and how we connect, without secrets: for logs and error messages."""
    how = "API key" if config.get("api_key") else "mTLS" if getattr(config.get("tls"), "client_cert", None) else ""
    how = how or ("TLS" if config.get("tls") else "plaintext")
    return f"{config['target_host']} (namespace {config.get('namespace', 'default')}, {how})"


def metrics_runtime() -> Runtime | None:
    """A runtime that serves the SDK's metrics at http://FANOUT_METRICS_HOST:FANOUT_METRICS_PORT/metrics.

    None when FANOUT_METRICS_PORT is unset. ConfigError when the address cannot be bound.
    """
    address = metrics_bind_address()
    if address is None:
        return None
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as err:  # e.g. the port is taken
        where = "FANOUT_METRICS_HOST/FANOUT_METRICS_PORT"
        raise ConfigError(f"cannot serve metrics on {address} ({where}): {err}") from None


async def connect(
    *,
    wait: bool = False,
    timeout_s: float = 5.0,
    config: dict[str, Any] | None = None,
    runtime: Runtime | None = None,
) -> Client:
    """Connect once; with ``wait``, keep trying (backing off to 10 s) until Temporal is up."""
    config = config or connect_config()
    if runtime is not None:
        config = {**config, "runtime": runtime}
    delay = 0.5
    while True:
        try:
            return await asyncio.wait_for(Client.connect(**config), timeout_s)
        except (TimeoutError, RuntimeError, OSError) as err:
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

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._config)

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def reachable(self, timeout_s: float = 1.5) -> bool:
        """Whether Temporal answers now (connecting first if need be); never raises. For /healthz."""
        try:
            client = await asyncio.wait_for(self.client(), timeout_s)
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=timeout_s)
            )
            return True
        except Exception as err:
            log.debug("Temporal health probe failed: %s", err)
            return False

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                self._client = await connect(timeout_s=self._timeout, config=self._config)
                log.info("connected to Temporal at %s", self.address)
            return self._client
