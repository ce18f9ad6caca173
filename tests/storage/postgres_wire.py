"""A loopback proxy in front of PostgreSQL that counts the round trips its clients make.

A client waits for the server once per Sync message (the extended query protocol: parse, bind,
execute, then Sync) and once per Query message (the simple protocol: BEGIN, COMMIT, ROLLBACK as
asyncpg sends them). Counting those two message types on the client-to-server stream counts
round trips, whatever the driver does above the wire.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from urllib.parse import urlsplit, urlunsplit

from tests.ports import free_port

_SSL_REQUEST = 80877103
_GSS_REQUEST = 80877104
_WAITS_FOR_SERVER = frozenset(b"SQ")


class RoundTripCounter:
    """Counts the messages after which a client waits for the server."""

    def __init__(self) -> None:
        self.round_trips = 0
        self.connections = 0

    def reset(self) -> None:
        self.round_trips = 0


async def _count_client_stream(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: RoundTripCounter
) -> None:
    # Untyped messages (length, code) come first: SSL/GSS requests, then the startup message.
    while True:
        head = await reader.readexactly(8)
        length, code = struct.unpack("!ii", head)
        writer.write(head + await reader.readexactly(length - 8))
        await writer.drain()
        if code not in (_SSL_REQUEST, _GSS_REQUEST):
            break
    while True:
        head = await reader.readexactly(5)
        (length,) = struct.unpack("!i", head[1:])
        writer.write(head + await reader.readexactly(length - 4))
        await writer.drain()
        if head[0] in _WAITS_FOR_SERVER:
            counter.round_trips += 1


async def _relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()


@asynccontextmanager
async def counting_proxy(url: str) -> AsyncIterator[tuple[str, RoundTripCounter]]:
    """Yield (the URL of `url`'s database through a counting proxy, its counter). The proxy
    refuses SSL (the server is on loopback), so the stream stays readable."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5432
    counter = RoundTripCounter()

    async def serve(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        counter.connections += 1
        server_r, server_w = await asyncio.open_connection(host, port)
        tasks = [
            asyncio.create_task(_count_client_stream(client_r, server_w, counter)),
            asyncio.create_task(_relay(server_r, client_w)),
        ]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with suppress(asyncio.CancelledError, asyncio.IncompleteReadError, OSError):
                    await task
            for stream in (client_w, server_w):
                stream.close()

    proxy_port = free_port()
    server = await asyncio.start_server(serve, "127.0.0.1", proxy_port)
    netloc = parts.netloc.rsplit("@", 1)
    user = f"{netloc[0]}@" if len(netloc) == 2 else ""
    query = f"{parts.query}&sslmode=disable" if parts.query else "sslmode=disable"
    proxied = urlunsplit(
        (parts.scheme, f"{user}127.0.0.1:{proxy_port}", parts.path, query, parts.fragment)
    )
    try:
        yield proxied, counter
    finally:
        server.close()
        await server.wait_closed()
