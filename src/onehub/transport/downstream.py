"""The slow-downstream fault's dependency: a deliberately slow HTTP server on loopback, and the
client that calls it with a real CLIENT span.

`SlowDownstream` stands for a third-party service OneHub depends on: it answers
`GET /<name>?ms=N` with 200 after N milliseconds, and it is not traced (its time shows as the
CLIENT span's own time, as a dependency that reports to someone else's backend would).
`HttpDependency` is the client, one span per call named `GET` with the HTTP client attributes
of the semantic conventions plus `peer.service` (the downstream's name), and `traceparent` sent
along. Hand-made rather than an instrumentation package's: it is the only outgoing HTTP call.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Final

import httpx
from opentelemetry import propagate, trace
from opentelemetry.semconv.attributes import (
    error_attributes,
    http_attributes,
    server_attributes,
    url_attributes,
)
from opentelemetry.trace import SpanKind, Status, StatusCode

from onehub.domain.errors import Unavailable

SCOPE: Final = "onehub.transport.downstream"
_MAX_WAIT_MS: Final = 60_000
_MAX_HEAD_BYTES: Final = 8192


class SlowDownstream:
    """The slow HTTP server. Start with `start()` (binds 127.0.0.1, port 0), stop with `stop()`."""

    def __init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while await self._answer_one(reader, writer):
                pass
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        head = await reader.readuntil(b"\r\n\r\n")
        if not head or len(head) > _MAX_HEAD_BYTES:
            return False
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        target = parts[1] if len(parts) == 3 else ""
        _, _, query = target.partition("?")
        params = dict(p.partition("=")[::2] for p in query.split("&") if p)
        wait_ms = params.get("ms", "0")
        if not wait_ms.isdigit():
            writer.write(_response(400, b"ms must be a whole number"))
            await writer.drain()
            return False
        await asyncio.sleep(min(int(wait_ms), _MAX_WAIT_MS) / 1000)
        writer.write(_response(200, b"ok"))
        await writer.drain()
        return True


def _response(status: int, body: bytes) -> bytes:
    reason = {200: "OK", 400: "Bad Request"}[status]
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\n"
        f"content-length: {len(body)}\r\n\r\n".encode()
        + body
    )


class HttpDependency:
    """Calls `SlowDownstream` on `port`; implements the services' SlowDependency port."""

    def __init__(self, port: int, *, timeout: float = 65.0) -> None:
        self._port = port
        self._client = httpx.AsyncClient(timeout=timeout)
        self._tracer = trace.get_tracer(SCOPE)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def call(self, name: str, delay: float) -> None:
        url = f"http://127.0.0.1:{self._port}/{name}?ms={round(delay * 1000)}"
        attributes: dict[str, str | int] = {
            http_attributes.HTTP_REQUEST_METHOD: "GET",
            server_attributes.SERVER_ADDRESS: "127.0.0.1",
            server_attributes.SERVER_PORT: self._port,
            url_attributes.URL_FULL: url,
            "peer.service": name,
        }
        with self._tracer.start_as_current_span(
            "GET", kind=SpanKind.CLIENT, attributes=attributes, record_exception=False
        ) as span:
            headers: dict[str, str] = {}
            propagate.inject(headers)
            try:
                response = await self._client.get(url, headers=headers)
            except httpx.HTTPError as error:
                span.set_attribute(error_attributes.ERROR_TYPE, type(error).__name__)
                span.set_status(Status(StatusCode.ERROR, str(error)))
                raise Unavailable(f"the downstream {name} cannot be reached") from None
            span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, response.status_code)
            if response.status_code >= 400:
                span.set_attribute(error_attributes.ERROR_TYPE, str(response.status_code))
                span.set_status(Status(StatusCode.ERROR))
                raise Unavailable(f"the downstream {name} answered {response.status_code}")
