"""In-process dispatch: the gateway calls the gRPC server's handlers directly, no network hop.

A `LocalGrpcServer` holds what a grpc.aio server is built from: its generic handlers (what the
generated `add_..._to_server` functions register) and its server interceptors, the very
instances the network server runs (so admission control counts both paths against one bound).
Each method's handler is resolved once through the interceptor chain, as the server resolves
it for a call, and then called with the request message itself (never encoded) and a
servicer context of our own. What the servicer sees is what it would see over the network:
the same metadata (credentials, the forwarded client address, `traceparent`), a deadline, and
`abort` / trailing metadata that the gateway maps to HTTP through the same table.

OneHub's interceptors act in the handler they return, never on a call's metadata when
resolving it, which is what makes resolving once per method the same as once per call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NamedTuple, TypeAlias, cast

import grpc
import grpc.aio
from google.protobuf.message import Message
from opentelemetry import propagate

from onehub.transport.gateway.errors import GatewayError, from_rpc_error

Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"
Behavior: TypeAlias = "Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]"
Metadata: TypeAlias = "tuple[tuple[str, str], ...]"

_DEADLINE_MESSAGE = "Deadline Exceeded"  # grpc's own words for the network hop's deadline


class _CallDetails(NamedTuple):
    """`grpc.HandlerCallDetails` as the server hands it to interceptors."""

    method: str
    invocation_metadata: Metadata


class LocalGrpcServer:
    """The handlers and interceptors of a gRPC server, for the gateway to call in-process.

    `interceptors` run in the order a grpc.aio server given the same list runs them (the first
    outermost). Calls go through `method(path)`.
    """

    def __init__(
        self,
        handlers: Sequence[grpc.GenericRpcHandler],
        interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    ) -> None:
        self._generic = tuple(handlers)
        self._interceptors = tuple(interceptors)

    def method(self, path: str) -> LocalMethod:
        """The unary method at `path` (`/pkg.Service/Method`); an unknown one answers every
        call UNIMPLEMENTED, as the server would."""
        return LocalMethod(self, path)

    async def resolve(self, path: str) -> Behavior | None:
        """The behaviour a call to `path` runs once through every interceptor; None when no
        handler serves it (or it is not unary-unary)."""

        async def innermost(details: grpc.HandlerCallDetails) -> Handler | None:
            for generic in self._generic:
                found = generic.service(details)
                if found is not None:
                    if found.unary_unary is None:
                        return None
                    # Messages are passed as they are: nothing to decode or encode in-process.
                    return grpc.unary_unary_rpc_method_handler(found.unary_unary)
            return None

        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]] = innermost
        for interceptor in reversed(self._interceptors):
            continuation = _bind(interceptor, continuation)
        handler = await continuation(cast("grpc.HandlerCallDetails", _CallDetails(path, ())))
        if handler is None or handler.unary_unary is None:
            return None
        return cast("Behavior", handler.unary_unary)


def _bind(
    interceptor: grpc.aio.ServerInterceptor,
    continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
) -> Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]]:
    async def next_step(details: grpc.HandlerCallDetails) -> Handler | None:
        return await interceptor.intercept_service(continuation, details)

    return next_step


class LocalMethod:
    """One method of a `LocalGrpcServer`, called like the network hop's multicallable."""

    def __init__(self, server: LocalGrpcServer, path: str) -> None:
        self._server = server
        self._path = path
        self._behavior: Behavior | None = None
        self._resolved = False

    async def __call__(
        self, request: Message, metadata: Metadata, time_limit: float, peer: str
    ) -> Message:
        """The response, or GatewayError with the status the servicer ended the call with
        (DEADLINE_EXCEEDED past `time_limit` seconds, UNIMPLEMENTED for an unknown method)."""
        if not self._resolved:
            self._behavior = await self._server.resolve(self._path)
            self._resolved = True
        behavior = self._behavior
        if behavior is None:
            raise GatewayError(grpc.StatusCode.UNIMPLEMENTED, "Method not found!")
        carrier: dict[str, str] = {}
        # The servicer's span continues the gateway's, as it would from the client's metadata.
        propagate.inject(carrier)
        context = LocalServicerContext((*metadata, *carrier.items()), peer, time_limit)
        try:
            async with asyncio.timeout(time_limit):
                response: Message = await behavior(
                    request, cast("grpc.aio.ServicerContext[Any, Any]", context)
                )
        except grpc.aio.AbortError:
            raise from_rpc_error(context.rpc_error()) from None
        except TimeoutError:
            raise GatewayError(grpc.StatusCode.DEADLINE_EXCEEDED, _DEADLINE_MESSAGE) from None
        code = context.code()
        if code is not None and code is not grpc.StatusCode.OK:
            raise from_rpc_error(context.rpc_error())
        return response


class LocalServicerContext:
    """The part of `grpc.aio.ServicerContext` a unary servicer and OneHub's interceptors use."""

    def __init__(self, metadata: Metadata, peer: str, timeout: float) -> None:
        self._metadata = metadata
        self._peer = peer
        self._deadline = time.monotonic() + timeout
        self._code: grpc.StatusCode | None = None
        self._details: str | None = None
        self._trailing: tuple[tuple[str, str | bytes], ...] = ()

    def invocation_metadata(self) -> Metadata:
        return self._metadata

    def peer(self) -> str:
        return self._peer

    def time_remaining(self) -> float:
        return max(self._deadline - time.monotonic(), 0.0)

    def cancelled(self) -> bool:
        return False

    def done(self) -> bool:
        return False

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def set_details(self, details: str) -> None:
        self._details = details

    def details(self) -> str | None:
        return self._details

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        self._trailing = tuple(metadata)

    def trailing_metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self._trailing

    async def send_initial_metadata(self, metadata: Sequence[tuple[str, str | bytes]]) -> None:
        """Initial metadata has nowhere to go: the gateway answers with its own headers."""

    async def abort(
        self,
        code: grpc.StatusCode,
        details: str = "",
        trailing_metadata: Sequence[tuple[str, str | bytes]] = (),
    ) -> None:
        if code is grpc.StatusCode.OK:
            raise ValueError("abort with OK is not an error status")
        self._code, self._details = code, details
        if trailing_metadata:
            self._trailing = tuple(trailing_metadata)
        raise grpc.aio.AbortError()

    def rpc_error(self) -> grpc.aio.AioRpcError:
        """The call's end as the network client would have seen it."""
        return grpc.aio.AioRpcError(
            self._code or grpc.StatusCode.UNKNOWN,
            grpc.aio.Metadata(),
            grpc.aio.Metadata(*self._trailing),
            self._details,
        )


def peer_of(client: tuple[str, int] | None) -> str:
    """The HTTP client's address in gRPC's peer notation (`ipv4:127.0.0.1:5000`)."""
    if not client:
        return "unknown"
    host, port = client[0], client[1]
    return f"ipv6:[{host}]:{port}" if ":" in host else f"ipv4:{host}:{port}"
