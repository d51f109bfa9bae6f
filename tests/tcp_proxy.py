"""A loopback TCP proxy whose answers can be cut off: what a client sees when its request reached the server
but the answer never came back (a network partition, a load balancer dropping a stream mid-call); or whose
Temporal goes away just after its clients connected (``go_away_after_connects``: once that many connections
have each had their first RPC answered, every connection is cut and new ones are closed at once, until
``come_back``).

The proxy reads the HTTP/2 frames the server sends (gRPC runs on HTTP/2): an RPC is answered when its stream's
trailers arrive, a HEADERS frame that ends the stream (END_STREAM), once its header block is complete
(END_HEADERS, on it or on the CONTINUATION after it)."""

from __future__ import annotations

import asyncio
import contextlib

HEADERS, CONTINUATION = 0x1, 0x9
END_STREAM, END_HEADERS = 0x1, 0x4
FRAME_HEADER = 9  # length (3 bytes), type, flags, stream id (4)


class Proxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.answers = True  # False: requests still reach the server, its answers are dropped
        self.away = False  # True: every connection is closed as it opens (go_away_after_connects)
        self.refused = 0  # connections closed that way
        self._connects_before_going = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def address(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"{host}:{port}"

    async def start(self) -> Proxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def go_away_after_connects(self, clients: int) -> None:
        """Once ``clients`` connections (one per Temporal client: Client.connect's GetSystemInfo is its first RPC)
        have each had their first RPC answered, go away: cut every connection, refuse new ones."""
        self._connects_before_going = clients

    def come_back(self) -> None:
        self.away = False

    def drop_connections(self) -> None:
        """Close every proxied connection: clients reconnect (through the proxy) on their next call."""
        for writer in list(self._writers):
            writer.close()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.away:
            self.refused += 1
            client_w.close()
            return
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            client_w.close()
            return
        self._writers |= {client_w, server_w}
        try:
            await asyncio.gather(self._pipe(client_r, server_w, always=True),
                                 self._pipe(server_r, client_w, frames=ServerFrames()))
        finally:
            for writer in (client_w, server_w):
                self._writers.discard(writer)
                writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, always: bool = False,
                    frames: ServerFrames | None = None) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
            while data := await reader.read(65536):
                if always or self.answers:
                    writer.write(data)
                    await writer.drain()
                if frames is not None and frames.rpc_answered(data) and frames.answered == 1:
                    self._first_rpc_answered()
        writer.close()

    def _first_rpc_answered(self) -> None:
        if self._connects_before_going > 0:
            self._connects_before_going -= 1
            if self._connects_before_going == 0:
                self.away = True
                self.drop_connections()


class ServerFrames:
    """The HTTP/2 frames a server sent on one connection, read as they pass: has an RPC been answered?"""

    def __init__(self) -> None:
        self._buffer = b""
        self._trailers = False  # a HEADERS frame with END_STREAM whose header block is not complete yet
        self.answered = 0

    def rpc_answered(self, data: bytes) -> bool:
        """Take ``data``; whether an RPC's answer ended in it."""
        self._buffer += data
        before = self.answered
        while len(self._buffer) >= FRAME_HEADER:
            length = int.from_bytes(self._buffer[:3], "big")
            if len(self._buffer) < FRAME_HEADER + length:
                break
            kind, flags = self._buffer[3], self._buffer[4]
            stream = int.from_bytes(self._buffer[5:9], "big") & 0x7FFFFFFF
            self._buffer = self._buffer[FRAME_HEADER + length:]
            if kind == HEADERS and stream and flags & END_STREAM:
                self._trailers = True
            if kind in (HEADERS, CONTINUATION) and self._trailers and flags & END_HEADERS:
                self._trailers = False
                self.answered += 1
        return self.answered > before
