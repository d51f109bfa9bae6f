"""Serving a process's workers until it is asked to stop, starting them whenever Temporal can take them.

The bot and ``worker.py`` both start this way. Temporal may be away as they start: not up yet (compose starts
services in any order), restarting, or gone just after the first RPC answered. The workers then do not start
(the SDK's validation describes the namespace first), so start-up is tried again, backing off to 10 s, for as
long as Temporal cannot be reached. A Temporal that answers and refuses is a configuration problem, not an
outage: a namespace that does not exist, or one without /fanout's search attributes, is a ConfigError (one
line, exit 2).

Which is which is decided by the RPC status of a probe (DescribeNamespace), never by an error's message: the
SDK's validation error says "not found" for a missing namespace and for a refused connection alike. Once the
workers run, an outage is theirs to ride out: their polls retry until Temporal is back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from runtime import search_attributes
from runtime.config import ConfigError

log = logging.getLogger("fanout.temporal")

FIRST_BACKOFF_S = 0.5
MAX_BACKOFF_S = 10.0
PROBE_TIMEOUT = timedelta(seconds=5)
# Statuses of a Temporal that did not answer (down, restarting, a connection cut), as opposed to one that
# answered and refused. UNKNOWN is what a connection reset mid-call surfaces as.
UNREACHABLE = frozenset({RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED,
                         RPCStatusCode.UNKNOWN})
# Workers that fail to start while the probe finds Temporal answering and the namespace there: tried this many
# times (it may have come back in between), then their error goes up as it is.
MAX_REFUSED_STARTS = 3


T = TypeVar("T")
# Statuses of a Temporal that answered and will go on refusing: no retry helps.
REFUSED = {RPCStatusCode.UNAUTHENTICATED: "refused the credentials (TEMPORAL_API_KEY, TEMPORAL_TLS_*)",
           RPCStatusCode.PERMISSION_DENIED: "denied access to the namespace"}


class Unreachable(Exception):
    """Temporal did not answer: start-up is tried again."""


def unreachable(err: BaseException) -> bool:
    """Whether ``err`` says Temporal did not answer (by its RPC status)."""
    if isinstance(err, RPCError):
        return err.status in UNREACHABLE
    return isinstance(err, (TimeoutError, OSError))


async def probe(client: Client) -> None:
    """Return if the namespace is there; ConfigError if Temporal answers that it is not; Unreachable if
    Temporal does not answer."""
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=client.namespace),
                                                         timeout=PROBE_TIMEOUT)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise ConfigError(f"Temporal namespace {client.namespace!r} does not exist (TEMPORAL_NAMESPACE)") from None
        if err.status in REFUSED:
            raise ConfigError(f"Temporal {REFUSED[err.status]}: {err.message}") from None
        if unreachable(err):
            raise Unreachable(f"{err.status.name}: {err.message}") from None
        raise
    except (TimeoutError, OSError, RuntimeError) as err:  # the SDK's transport errors are RuntimeErrors
        raise Unreachable(f"{type(err).__name__}: {err}") from None


class ServedWorkers:
    """One process's workers: ``serve(stop)`` connects (``connect`` keeps trying), probes the namespace, checks
    the search attributes, sets up what the workers need of Temporal (``setup``, if any), builds the workers
    (``build``) and runs them until ``stop``, starting over after an outage at start-up. ``running`` is true
    while every worker polls; ``on_running`` is called each time they all do."""

    def __init__(self, what: str, connect: Callable[[], Awaitable[Client]],
                 build: Callable[[Client], list[Worker]], on_running: Callable[[], None],
                 setup: Callable[[Client], Awaitable[None]] | None = None) -> None:
        self.what = what
        self._connect = connect
        self._build = build
        self._on_running = on_running
        self._setup = setup
        self._workers: list[Worker] = []

    @property
    def running(self) -> bool:
        return bool(self._workers) and all(w.is_running for w in self._workers)

    async def serve(self, stop: asyncio.Event) -> Client | None:
        """Until ``stop``; returns the client the workers ran on (None if they never started)."""
        backoff, refused = FIRST_BACKOFF_S, 0
        while not stop.is_set():
            client = await _unless_stopped(self._connect(), stop)
            if client is None:
                return None
            try:
                await probe(client)
                try:
                    await search_attributes.check(client)
                    if self._setup is not None:
                        await self._setup(client)
                except RPCError as err:
                    if not unreachable(err):
                        raise
                    raise Unreachable(f"{err.status.name}: {err.message}") from None
                error = await self._run(client, stop)
                if error is None:
                    return client
                refused += 1
                if refused >= MAX_REFUSED_STARTS:
                    raise ConfigError(f"{self.what} did not start, {refused} times, though Temporal answers: "
                                      f"{type(error).__name__}: {error}")
            except Unreachable as err:
                log.warning("%s: Temporal did not answer as they started (%s); trying again in %.1fs",
                            self.what, err, backoff)
                refused = 0
            if await _unless_stopped(asyncio.sleep(backoff, result=True), stop) is None:
                return None
            backoff = min(backoff * 2, MAX_BACKOFF_S)
        return None

    async def _run(self, client: Client, stop: asyncio.Event) -> BaseException | None:
        """Run the workers until ``stop`` (None), or until one of them fails: then stop the others and decide by
        the probe. Unreachable: start over; the namespace gone: ConfigError; Temporal answering: the error (the
        caller tries a few times, in case Temporal came back in between)."""
        self._workers = self._build(client)
        runs = {asyncio.ensure_future(w.run()): w for w in self._workers}
        stopping = asyncio.ensure_future(stop.wait())
        try:
            while not self.running:  # each worker first validates (the SDK describes the namespace), then polls
                done, _ = await asyncio.wait({*runs, stopping}, timeout=0.05, return_when=asyncio.FIRST_COMPLETED)
                if done:
                    break
            else:
                self._on_running()
            done, _ = await asyncio.wait({*runs, stopping}, return_when=asyncio.FIRST_COMPLETED)
            failed = next((t for t in done if t is not stopping and t.exception() is not None), None)
        finally:
            stopping.cancel()
            await asyncio.gather(*(w.shutdown() for w in self._workers))  # in-flight tasks finish first
            outcomes = await asyncio.gather(*runs, return_exceptions=True)
            self._workers = []
        if failed is None:
            for outcome in outcomes:
                if isinstance(outcome, BaseException):
                    raise outcome
            return None
        error = failed.exception()
        assert error is not None
        await probe(client)  # raises ConfigError or Unreachable
        log.warning("%s stopped though Temporal answers: %s", self.what, error)
        return error


async def _unless_stopped(work: Awaitable[T], stop: asyncio.Event) -> T | None:
    """``work``'s result, or None (``work`` cancelled) if ``stop`` is set first."""
    working = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({working, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if not working.done():
        working.cancel()
        return None
    stopping.cancel()
    return working.result()
