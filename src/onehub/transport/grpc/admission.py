"""Admission control for the gRPC server: a bounded number of calls in progress at once.

Past the bound a call is answered UNAVAILABLE at once, with the standard
`grpc-retry-pushback-ms` trailer saying when to try again: overload is the server's condition,
never blamed on the client (CANCELLED) nor mistaken for a quota (RESOURCE_EXHAUSTED).

gRPC's own limits would do worse. Its `maximum_concurrent_rpcs` answers RESOURCE_EXHAUSTED, and
its core cancels calls (CANCELLED, with no message) that arrive faster than the asyncio server
takes them once more than `grpc.server.max_pending_requests` (1,000) wait; the server therefore
sets that limit far above any admission bound (`PENDING_REQUEST_OPTIONS`) and lets this
interceptor, which answers within microseconds, decide.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final, TypeAlias

import grpc

from onehub.transport.grpc.handler_cache import HandlerCache

RETRY_PUSHBACK_KEY: Final = "grpc-retry-pushback-ms"
OVERLOAD_MESSAGE: Final = "the server is busy: retry in a moment"
DEFAULT_RETRY_AFTER_S: Final = 1.0
# Exempt: probes must see the server's health under load, and reflection is a developer's tool.
EXEMPT_METHOD_PREFIXES: Final = ("/grpc.health.v1.", "/grpc.reflection.")
# Calls the core may hold before the server takes them; past it the core cancels them itself.
_MAX_PENDING_REQUESTS: Final = 1 << 20
PENDING_REQUEST_OPTIONS: Final[tuple[tuple[str, int], ...]] = (
    ("grpc.server.max_pending_requests", _MAX_PENDING_REQUESTS),
    ("grpc.server.max_pending_requests_hard_limit", _MAX_PENDING_REQUESTS),
)

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Continuation: TypeAlias = "Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]"
Behavior: TypeAlias = "Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]"


def retry_pushback_metadata(retry_after_s: float) -> tuple[tuple[str, str], ...]:
    """The trailer that tells a gRPC client how long to wait before retrying."""
    return ((RETRY_PUSHBACK_KEY, str(max(int(retry_after_s * 1000), 1))),)


class AdmissionInterceptor(grpc.aio.ServerInterceptor):
    """Admits at most `max_in_flight` unary calls at once; answers the others UNAVAILABLE with a
    `grpc-retry-pushback-ms` trailer of `retry_after_s`. Place it outermost, so a refused call
    costs nothing more (no span, no authentication)."""

    def __init__(self, max_in_flight: int, retry_after_s: float = DEFAULT_RETRY_AFTER_S) -> None:
        if max_in_flight <= 0:
            raise ValueError("max_in_flight must be positive")
        self.max_in_flight = max_in_flight
        self.in_flight = 0
        self._pushback = retry_pushback_metadata(retry_after_s)
        self._handlers = HandlerCache()

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Handler | None:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        if handler_call_details.method.startswith(EXEMPT_METHOD_PREFIXES):
            return handler
        return self._handlers.wrapped(handler_call_details.method, handler, self._admitted)

    def _admitted(self, handler: Handler) -> Handler:
        inner: Behavior = handler.unary_unary  # type: ignore[assignment]

        async def admitted(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if self.in_flight >= self.max_in_flight:
                context.set_trailing_metadata(self._pushback)
                await context.abort(grpc.StatusCode.UNAVAILABLE, OVERLOAD_MESSAGE)
            self.in_flight += 1
            try:
                return await inner(request, context)
            finally:
                self.in_flight -= 1

        return grpc.unary_unary_rpc_method_handler(
            admitted,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
