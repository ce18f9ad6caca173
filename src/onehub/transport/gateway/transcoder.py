"""The ASGI endpoint that turns one HTTP request into one unary gRPC call and back."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import grpc
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from opentelemetry import trace
from starlette.types import Receive, Scope, Send

from onehub.transport.gateway.auth import Metadata, client_metadata, credentials_metadata
from onehub.transport.gateway.errors import GatewayError, error_body, from_rpc_error
from onehub.transport.gateway.local_server import LocalGrpcServer, peer_of
from onehub.transport.gateway.mapping import build_request
from onehub.transport.gateway.rendering import render_json
from onehub.transport.gateway.routes import Binding, RouteMatch, RouteTable
from onehub.transport.gateway.telemetry import (
    RequestDurations,
    record_status,
    server_span,
    take_over_client_tracing,
    trace_id_of,
    traceresponse,
)

logger = logging.getLogger(__name__)

_JSON = (b"content-type", b"application/json")


#: What a gateway calls its RPCs on: a channel to the gRPC server (the network hop), or the
#: server's own handlers in this process.
Upstream = grpc.aio.Channel | LocalGrpcServer
Client = tuple[str, int] | None


class _Invoke(Protocol):
    async def __call__(self, request: Message, metadata: Metadata, client: Client) -> Message:
        """The response; GatewayError with the call's status when it failed."""


@dataclass(frozen=True, slots=True)
class _Rpc:
    invoke: _Invoke
    request_class: type[Message]


class _NetworkCall:
    """A unary call over the channel, its CLIENT span made here when the channel's tracing
    interceptor offers to (no grpc.aio interceptor machinery on every request)."""

    def __init__(
        self,
        channel: grpc.aio.Channel,
        binding: Binding,
        request_class: type[Message],
        timeout: float,
    ) -> None:
        response_class = GetMessageClass(binding.method.output_type)
        self._path = binding.rpc_path
        self._call = channel.unary_unary(
            self._path,
            request_serializer=request_class.SerializeToString,
            response_deserializer=response_class.FromString,
        )
        self._tracing = take_over_client_tracing(self._call)
        self._timeout = timeout

    async def __call__(self, request: Message, metadata: Metadata, client: Client) -> Message:
        tracing = self._tracing
        if tracing is None:
            try:
                response: Message = await self._call(
                    request, timeout=self._timeout, metadata=metadata
                )
            except grpc.aio.AioRpcError as rpc_error:
                raise from_rpc_error(rpc_error) from None
            return response
        span, context_metadata = tracing.start(self._path)
        try:
            response = await self._call(
                request, timeout=self._timeout, metadata=(*metadata, *context_metadata)
            )
        except grpc.aio.AioRpcError as rpc_error:
            tracing.end(span, rpc_error.code())
            raise from_rpc_error(rpc_error) from None
        except BaseException as exc:
            tracing.fail(span, exc)
            raise
        tracing.end(span, grpc.StatusCode.OK)
        return response


class _LocalCall:
    """A unary call on the server's handlers in this process (no CLIENT span: no client)."""

    def __init__(self, server: LocalGrpcServer, binding: Binding, timeout: float) -> None:
        self._method = server.method(binding.rpc_path)
        self._timeout = timeout

    async def __call__(self, request: Message, metadata: Metadata, client: Client) -> Message:
        return await self._method(request, metadata, self._timeout, peer_of(client))


class Transcoder:
    """Serves the bindings on one upstream (a channel, or the server in-process): route,
    decode, call, encode, all in one span.

    Every failure becomes the error body with the status from the one table; an unexpected
    exception is logged and answered 500 INTERNAL without detail.
    """

    def __init__(
        self,
        upstream: Upstream,
        bindings: Sequence[Binding],
        *,
        tracer: trace.Tracer,
        durations: RequestDurations,
        body_limits: Mapping[str, int],
        call_timeout: float,
        forwarding_token: str | None = None,
        max_request_bytes: int | None = None,
    ) -> None:
        self.routes = RouteTable(bindings)
        self._forwarding_token = forwarding_token
        self._tracer = tracer
        self._durations = durations
        self._body_limits = body_limits
        self._max_request_bytes = max_request_bytes
        self._rpcs: dict[str, _Rpc] = {}
        for binding in bindings:
            if binding.rpc_path not in self._rpcs:
                request_class = GetMessageClass(binding.method.input_type)
                invoke: _Invoke = (
                    _LocalCall(upstream, binding, call_timeout)
                    if isinstance(upstream, LocalGrpcServer)
                    else _NetworkCall(upstream, binding, request_class, call_timeout)
                )
                self._rpcs[binding.rpc_path] = _Rpc(invoke, request_class)

    async def serve(self, scope: Scope, receive: Receive, send: Send, drop_segments: int) -> None:
        """Answer one HTTP request whose path, after `drop_segments` leading segments (the
        `/api` prefix), is matched against the templates."""
        started = self._durations.start()
        method: str = scope["method"]
        raw_path = _raw_path(scope)
        route_path = "/" + raw_path[1:].split("/", drop_segments)[-1] if drop_segments else raw_path
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        match: RouteMatch | None = None
        error: GatewayError | None = None
        try:
            match = self.routes.match(method, route_path)
        except GatewayError as route_error:
            error = route_error
        route = match.binding.route if match else None
        with server_span(self._tracer, method, route, raw_path, scope, headers) as span:
            body = b""
            if match is not None:
                try:
                    body = await self._transcode(match, scope, receive, headers)
                except GatewayError as call_error:
                    error = call_error
                except Exception as unexpected:
                    logger.exception("gateway: %s %s failed", method, route)
                    span.record_exception(unexpected)
                    error = GatewayError(grpc.StatusCode.INTERNAL, "internal error")
            span_context = span.get_span_context()
            status = 200
            extra: tuple[tuple[bytes, bytes], ...] = ()
            if error is not None:
                status, extra = error.status, error.headers
                body = error_body(error, trace_id_of(span_context))
            record_status(span, status)
            response_headers = [_JSON, (b"content-length", b"%d" % len(body)), *extra]
            trace_header = traceresponse(span_context)
            if trace_header is not None:
                response_headers.append((b"traceresponse", trace_header))
            await send(
                {"type": "http.response.start", "status": status, "headers": response_headers}
            )
            await send({"type": "http.response.body", "body": body})
            self._durations.record(started, method, route, status, scope.get("scheme", "http"))

    async def _transcode(
        self, match: RouteMatch, scope: Scope, receive: Receive, headers: Mapping[str, str]
    ) -> bytes:
        binding = match.binding
        rpc = self._rpcs[binding.rpc_path]
        metadata = credentials_metadata(headers.get("authorization"))
        if metadata:
            sender = scope.get("client")
            metadata += client_metadata(sender[0] if sender else None, self._forwarding_token)
        body_limit = self._body_limits[binding.method.full_name]
        body = await _read_body(receive, headers, body_limit) if binding.body else b""
        request = build_request(
            binding, rpc.request_class(), match.path_values, scope.get("query_string", b""), body
        )
        del body  # a bulk body is megabytes; it is not needed while the call runs
        encoded_limit = self._max_request_bytes
        if encoded_limit is not None and request.ByteSize() > encoded_limit:
            # Rare, but JSON can grow when encoded (a list of small numbers in a Struct): say
            # so plainly rather than pass on the channel's own refusal.
            raise GatewayError(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the request is larger than {encoded_limit} bytes once encoded for gRPC",
                status=413,
            )
        client = scope.get("client")
        response = await rpc.invoke(request, metadata, client)
        return _render(response, binding)


async def _read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytearray:
    """The request body, read as it arrives into one buffer; 413 as soon as it passes `limit`
    bytes (at once when Content-Length says it will)."""
    declared = headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise GatewayError(grpc.StatusCode.INVALID_ARGUMENT, "bad Content-Length")
        if int(declared) > limit:
            raise _too_large(limit)
    body = bytearray()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise GatewayError(grpc.StatusCode.CANCELLED, "the client went away")
        chunk: bytes = message.get("body", b"")
        if len(body) + len(chunk) > limit:
            raise _too_large(limit)
        body += chunk
        if not message.get("more_body", False):
            break
    # Bodies are JSON whatever their Content-Type says, as with grpc-gateway's wildcard
    # marshaler: `curl -d '{...}'` (form-urlencoded by default) works as with the original,
    # and a body that is not JSON fails to parse with a 400.
    return body


def _too_large(limit: int) -> GatewayError:
    return GatewayError(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        f"the request body is larger than {limit} bytes, this method's limit",
        status=413,
    )


def _raw_path(scope: Scope) -> str:
    raw: bytes | None = scope.get("raw_path")
    if raw is None:  # servers may omit raw_path; the decoded path is the best we have then
        path: str = scope["path"]
        return path
    return raw.split(b"?", 1)[0].decode("latin-1")


def _render(response: Message, binding: Binding) -> bytes:
    return render_json(response, binding.response_body or None)
