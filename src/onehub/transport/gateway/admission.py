"""Admission control for the HTTP side: a bounded number of requests in progress at once.

Past the bound a request is answered at once with 503 and `Retry-After`, in the usual error
body (code UNAVAILABLE): the server is busy, and the client is told when to come back, rather
than waiting in a queue that only grows or being told it gave up (499).
"""

from __future__ import annotations

from typing import Final

import grpc
from starlette.types import ASGIApp, Receive, Scope, Send

from onehub.transport.gateway.errors import GatewayError, error_body, retry_after_header

OVERLOAD_MESSAGE: Final = "the server is busy: retry in a moment"
DEFAULT_MAX_IN_FLIGHT: Final = 1000
DEFAULT_RETRY_AFTER_S: Final = 1


class AdmissionLimit:
    """ASGI middleware admitting at most `max_in_flight` HTTP requests at once; the others get
    503 with `Retry-After: retry_after_s`. Other scope types pass through uncounted.

    Requests for `stream_paths` (event streams a page holds open for as long as it is open) are
    counted apart, against a bound of their own (`max_streams`, default `max_in_flight`), so
    open pages never take the slots of ordinary requests, and still cannot grow without end.
    """

    def __init__(
        self,
        app: ASGIApp,
        max_in_flight: int,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
        stream_paths: frozenset[str] = frozenset(),
        max_streams: int | None = None,
    ) -> None:
        if max_in_flight <= 0:
            raise ValueError("max_in_flight must be positive")
        self.app = app
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self.stream_paths = stream_paths
        self.max_streams = max_in_flight if max_streams is None else max_streams
        self.streams = 0
        error = GatewayError(grpc.StatusCode.UNAVAILABLE, OVERLOAD_MESSAGE)
        self._body = error_body(error, None)
        self._headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(self._body)),
            retry_after_header(retry_after_s),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in self.stream_paths:
            await self._stream(scope, receive, send)
            return
        if self.in_flight >= self.max_in_flight:
            await self._refuse(send)
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.streams >= self.max_streams:
            await self._refuse(send)
            return
        self.streams += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.streams -= 1

    async def _refuse(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": 503, "headers": self._headers})
        await send({"type": "http.response.body", "body": self._body})
