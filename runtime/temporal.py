"""The one place that builds the Temporal client, for the bot, the worker and the tools.

Connection settings come from ``temporalio.envconfig`` only (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_GRPC_META_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE, or
``~/.config/temporalio/temporal.toml``): a local dev server, a self-hosted cluster and Temporal Cloud
(API key or mTLS) differ only in configuration. With nothing set it is ``localhost:7233``, namespace
``default``.

Each process has one SDK runtime (``process_runtime``), made the SDK's default before any client exists
(``runtime.logs.configure_logging`` builds it, so the bot, the worker and the CLI all have it). It forwards the
SDK core's own logs (the Rust ``temporalio_client::retry`` warnings during an outage, ...) into Python
logging as logger ``temporalio.core``, so they come out in LOG_FORMAT like every other line instead of
as coloured text on stderr. The worker's runtime also serves the SDK's metrics for Prometheus when
FANOUT_METRICS_PORT is set (``process_runtime(metrics=True)``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
from datetime import timedelta
from typing import Any

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.envconfig import ClientConfig
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import RetryConfig, RPCError

from runtime.config import ConfigError, log_level, metrics_bind_address

log = logging.getLogger("fanout.temporal")
DEFAULT_ADDRESS = "localhost:7233"
CORE_LOGGER = "temporalio.core"  # where the Temporal runtime forwards the SDK core's logs
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # CSI sequences: colours, bold, ...


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
    except (RuntimeError, OSError, ValueError) as err:  # the SDK's own ConfigError is a RuntimeError
        profile = env.get("TEMPORAL_PROFILE", "").strip() or "default"
        raise ConfigError(f"Temporal connection settings (profile {profile!r}): {err}") from None
    config.setdefault("target_host", DEFAULT_ADDRESS)
    return config


def describe(config: dict[str, Any]) -> str:
    """Where and how we connect, without secrets: for logs and error messages."""
    how = "API key" if config.get("api_key") else "mTLS" if getattr(config.get("tls"), "client_cert", None) else ""
    how = how or ("TLS" if config.get("tls") else "plaintext")
    return f"{config['target_host']} (namespace {config.get('namespace', 'default')}, {how})"


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class CoreLogFilter(logging.Filter):
    """On the ``temporalio.core`` logger: turns a record forwarded from the SDK core (it carries the
    core's entry as ``temporal_log``) into one plain message, ``target: message key=value ...``."""

    def filter(self, record: logging.LogRecord) -> bool:
        entry = getattr(record, "temporal_log", None)
        if entry is None:
            return True
        message = f"{entry.target}: {entry.message}"
        try:
            fields = dict(entry.fields)
        except (TypeError, ValueError):  # fields that are not pairs: the line goes out without them
            fields = {}
        if fields:
            message += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        record.msg, record.args = strip_ansi(message), ()
        return True


# LOG_LEVEL -> (level of the SDK core's own targets, level of the libraries under it: tonic, h2, ...).
# DEBUG asks for the core's INFO (worker start/stop), not its DEBUG (several lines per workflow task).
_CORE_LEVELS = {"DEBUG": ("INFO", "WARN"), "INFO": ("WARN", "ERROR"), "WARNING": ("WARN", "ERROR"),
                "ERROR": ("ERROR", "ERROR"), "CRITICAL": ("ERROR", "ERROR")}
# (level, metrics address, worker heartbeats, runtime)
_process_runtime: tuple[str, str | None, bool, Runtime] | None = None
WORKER_HEARTBEAT = timedelta(seconds=60)  # the SDK's default
# One read or write against Temporal: well inside Slack's 3 s, so an outage gets a prompt answer.
RPC_TIMEOUT = timedelta(seconds=2)


def core_log_filter(level: str) -> TelemetryFilter:
    """What the SDK core logs, for a LOG_LEVEL (a name of runtime.config.LOG_LEVELS)."""
    core, other = _CORE_LEVELS[level]
    return TelemetryFilter(core_level=core, other_level=other)


def process_runtime(*, level: str | None = None, metrics: bool = False,
                    worker_heartbeats: bool | None = None) -> Runtime:
    """The process's Temporal runtime, set as the SDK's default (``Runtime.set_default``): clients and
    workers created from now on use it.

    It forwards the SDK core's logs to the ``temporalio.core`` logger (at the core level that ``level``,
    default LOG_LEVEL, maps to; see ``core_log_filter``), instead of the core writing them to stderr.
    Built once: later calls return it (a different ``level`` is not applied then) unless ``metrics``
    asks for the Prometheus endpoint of FANOUT_METRICS_HOST/FANOUT_METRICS_PORT and it has none; then
    a runtime with both replaces it (clients already created keep the old one, so call this before
    connecting). With FANOUT_METRICS_PORT unset, ``metrics`` changes nothing. ``worker_heartbeats``
    (the SDK's RecordWorkerHeartbeat, once a minute; on unless turned off) likewise: the bot turns them
    off, so between runs its only Temporal traffic is its workers' long polls.

    ConfigError when FANOUT_METRICS_PORT is malformed or its address cannot be bound.
    """
    global _process_runtime
    address = metrics_bind_address() if metrics else None
    if _process_runtime is not None:
        built_level, built_address, built_heartbeats, runtime = _process_runtime
        same_beats = worker_heartbeats is None or worker_heartbeats == built_heartbeats
        if (address is None or address == built_address) and same_beats:
            return runtime
        level = level or built_level
        address = address or built_address
        worker_heartbeats = built_heartbeats if worker_heartbeats is None else worker_heartbeats
    level = level or log_level()
    heartbeats = True if worker_heartbeats is None else worker_heartbeats
    core_logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(f, CoreLogFilter) for f in core_logger.filters):
        core_logger.addFilter(CoreLogFilter())  # "target: message fields", no colour codes
    forwarding = LogForwardingConfig(logger=core_logger, append_target_to_name=False,
                                     prepend_target_on_message=False, append_log_fields_to_message=False)
    telemetry = TelemetryConfig(
        logging=LoggingConfig(filter=core_log_filter(level), forwarding=forwarding),
        metrics=PrometheusConfig(bind_address=address) if address else None,
    )
    try:
        runtime = Runtime(telemetry=telemetry, worker_heartbeat_interval=WORKER_HEARTBEAT if heartbeats else None)
    except (ValueError, RuntimeError) as err:  # e.g. the metrics port is taken (ValueError)
        if address is None:
            raise
        where = "FANOUT_METRICS_HOST/FANOUT_METRICS_PORT"
        raise ConfigError(f"cannot serve metrics on {address} ({where}): {err}") from None
    # Replacing is expected (the worker adds metrics to the runtime that configure_logging built).
    Runtime.set_default(runtime, error_if_already_set=False)
    _process_runtime = (level, address, heartbeats, runtime)
    return runtime


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


# The command path's client: its retries of one call end within ~1.5 s, so a command answers within
# Slack's 3 s even when Temporal went away after we connected (the SDK's default retries for ~10 s). The
# bot's workers keep the default, patient retries: a completion must not be dropped.
COMMAND_RETRY = RetryConfig(initial_interval_millis=100, multiplier=2.0, max_interval_millis=400,
                            max_elapsed_time_millis=1500, max_retries=4)


class TemporalGateway:
    """A client that is connected on first use and again after an outage, never at import.

    The bot starts while Temporal is down and answers commands with a clear error until it
    is back; no restart needed. Its calls retry briefly (COMMAND_RETRY): for answering Slack.
    """

    def __init__(self, connect_timeout_s: float = 2.0, config: dict[str, Any] | None = None,
                 retry_config: RetryConfig | None = COMMAND_RETRY) -> None:
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self._timeout = connect_timeout_s
        self._config = config or connect_config()  # read once, at start
        self._retry = retry_config

    @property
    def address(self) -> str:
        return str(self._config["target_host"])

    @property
    def config(self) -> dict[str, Any]:
        return dict(self._config)

    async def reachable(self, timeout_s: float = 1.5) -> bool:
        """Whether Temporal answers now (connecting first if need be); never raises. For /healthz."""
        try:
            client = await asyncio.wait_for(self.client(), timeout_s)
            await client.workflow_service.get_system_info(
                GetSystemInfoRequest(), timeout=timedelta(seconds=timeout_s)
            )
            return True
        except (TimeoutError, TemporalUnavailable, RPCError) as err:
            log.debug("Temporal health probe failed: %s", err)
            return False

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                config = {**self._config, "retry_config": self._retry} if self._retry else self._config
                self._client = await connect(timeout_s=self._timeout, config=config)
                log.info("connected to Temporal at %s", self.address)
            return self._client
