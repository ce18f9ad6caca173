"""gRPC server and client interceptors: spans, context over the wire, and call durations.

Our own rather than opentelemetry-instrumentation-grpc's, which names spans with a leading slash,
uses the old attribute names (`rpc.system`, `rpc.grpc.status_code`) and records no metrics. They
use only the OpenTelemetry API (the global providers), so they work with whatever
`setup_telemetry` installed, and cost next to nothing under the no-op providers.

Spans are named `onehub.v1.TopicService/ListTopics` and carry `rpc.system.name=grpc`,
`rpc.method` and `rpc.status_code` (the code's name, e.g. `NOT_FOUND`). Status follows the
semantic conventions: a client span is an ERROR for any non-OK code; a server span only for
server faults (`SERVER_FAULTS`). The server interceptor also records `rpc.server.call.duration`
(seconds) by `rpc.method` and `rpc.status_code`, inside the span so exemplars carry its trace id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, cast

import grpc
import grpc.aio
from opentelemetry import context as otel_context
from opentelemetry import metrics, propagate, trace
from opentelemetry.semconv._incubating.attributes import rpc_attributes
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from onehub.telemetry.metrics import REQUEST_DURATION_BUCKETS, RPC_SERVER_CALL_DURATION

if TYPE_CHECKING:
    from onehub.telemetry.setup import Telemetry

SCOPE: Final = "onehub.telemetry.grpc"
# No stable RPC conventions yet: the incubating names.
RPC_SYSTEM_NAME: Final = rpc_attributes.RPC_SYSTEM_NAME
RPC_METHOD: Final = rpc_attributes.RPC_METHOD
#: The status code attribute as OneHub's viewer and findings read it (semantic conventions
#: 1.37+ call it rpc.response.status_code; docs/telemetry.md).
RPC_STATUS_CODE: Final = "rpc.status_code"
#: gRPC codes that mean the server failed (semantic conventions for gRPC server spans).
SERVER_FAULTS: Final = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.DATA_LOSS,
    }
)
_CODES_BY_VALUE: Final = {code.value[0]: code for code in grpc.StatusCode}

Behavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def grpc_server_interceptors(
    telemetry: Telemetry | None = None,
) -> list[grpc.aio.ServerInterceptor]:
    """Interceptors to place outermost on the gRPC server; none when telemetry is disabled."""
    if telemetry is not None and telemetry.disabled:
        return []
    return [TracingServerInterceptor()]


def grpc_client_interceptors(
    telemetry: Telemetry | None = None,
) -> list[grpc.aio.ClientInterceptor]:
    """Interceptors for an instrumented client channel; none when telemetry is disabled."""
    if telemetry is not None and telemetry.disabled:
        return []
    return [TracingClientInterceptor()]


class _Method:
    """What we know about one RPC method, computed once per method, not once per call."""

    __slots__ = ("by_code", "name", "span_attributes")

    def __init__(self, full_method: str) -> None:
        self.name = full_method.lstrip("/")
        self.span_attributes: Mapping[str, str] = {RPC_SYSTEM_NAME: "grpc", RPC_METHOD: self.name}
        self.by_code: dict[grpc.StatusCode, Mapping[str, str]] = {
            code: {RPC_SYSTEM_NAME: "grpc", RPC_METHOD: self.name, RPC_STATUS_CODE: code.name}
            for code in grpc.StatusCode
        }


class TracingServerInterceptor(grpc.aio.ServerInterceptor):
    """A SERVER span per call, continuing the caller's trace from `traceparent`/`baggage`."""

    def __init__(self) -> None:
        self._tracer = trace.get_tracer(SCOPE)
        self._duration = metrics.get_meter(SCOPE).create_histogram(
            RPC_SERVER_CALL_DURATION,
            unit="s",
            description="Duration of incoming gRPC calls",
            explicit_bucket_boundaries_advisory=REQUEST_DURATION_BUCKETS,
        )
        # method -> (the handler we were given, our wrapped one); handlers are reused per method.
        self._handlers: dict[
            str, tuple[grpc.RpcMethodHandler[Any, Any], grpc.RpcMethodHandler[Any, Any]]
        ] = {}
        self._methods: dict[str, _Method] = {}

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        # Unknown methods (None) are answered UNIMPLEMENTED by grpc itself; streaming calls are
        # not in OneHub's API, so they pass through untraced rather than half-traced.
        if handler is None or handler.unary_unary is None:
            return handler
        method_name: str = handler_call_details.method
        cached = self._handlers.get(method_name)
        if cached is not None and cached[0] is handler:
            return cached[1]
        # Inner interceptors may hand out a new handler on every call; what we know about the
        # method (names, attribute sets per status code) is kept per method all the same.
        method = self._methods.get(method_name)
        if method is None:
            method = self._methods[method_name] = _Method(method_name)
        wrapped = grpc.unary_unary_rpc_method_handler(
            # On an aio server the behaviour is a coroutine function; the stubs only know sync.
            self._traced(cast(Behavior, handler.unary_unary), method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )
        self._handlers[method_name] = (handler, wrapped)
        return wrapped

    def _traced(self, behavior: Behavior, method: _Method) -> Behavior:
        tracer, duration = self._tracer, self._duration

        async def traced(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            start = time.perf_counter()
            parent = propagate.extract(dict(context.invocation_metadata() or ()))
            span = tracer.start_span(method.name, parent, SpanKind.SERVER, method.span_attributes)
            active = trace.set_span_in_context(span, parent)
            token = otel_context.attach(active)
            code = grpc.StatusCode.OK
            try:
                response = await behavior(request, context)
                code = _code(context.code())
                return response
            except grpc.aio.AbortError:
                code = _code(context.code(), grpc.StatusCode.UNKNOWN)
                raise
            except Exception as exc:
                code = grpc.StatusCode.UNKNOWN
                span.record_exception(exc)
                raise
            except BaseException:  # asyncio.CancelledError: the client went away
                code = grpc.StatusCode.CANCELLED
                raise
            finally:
                if span.is_recording():
                    span.set_attribute(RPC_STATUS_CODE, code.name)
                    if code in SERVER_FAULTS:
                        span.set_status(Status(StatusCode.ERROR, code.name))
                duration.record(time.perf_counter() - start, method.by_code[code], active)
                span.end()
                otel_context.detach(token)

        return traced


class ClientCallTracing:
    """Starts and ends the CLIENT span of one unary call, for the interceptor or for a caller
    that makes the call itself (the gateway, which skips the grpc.aio interceptor machinery:
    ~40 µs of CPU per call). Same span either way: named after the method, a child of the
    current span, its context sent as `traceparent` (and `baggage`) metadata.
    """

    def __init__(self) -> None:
        self._tracer = trace.get_tracer(SCOPE)
        self._methods: dict[str | bytes, _Method] = {}

    def start(self, raw_method: str | bytes) -> tuple[Span, list[tuple[str, str]]]:
        """Start the span of a call to `raw_method` (`/pkg.Service/Method`); return it with the
        metadata entries that carry its context to the server."""
        method = self._methods.get(raw_method)
        if method is None:
            name = raw_method.decode() if isinstance(raw_method, bytes) else raw_method
            method = self._methods[raw_method] = _Method(name)
        span = self._tracer.start_span(method.name, None, SpanKind.CLIENT, method.span_attributes)
        carrier: dict[str, str] = {}
        propagate.inject(carrier, trace.set_span_in_context(span))
        return span, list(carrier.items())

    @staticmethod
    def end(span: Span, code: grpc.StatusCode) -> None:
        """End the span of a call that completed with `code`; any code but OK is an ERROR."""
        if span.is_recording():
            span.set_attribute(RPC_STATUS_CODE, code.name)
            if code is not grpc.StatusCode.OK:
                span.set_status(Status(StatusCode.ERROR, code.name))
        span.end()

    @staticmethod
    def fail(span: Span, exc: BaseException) -> None:
        """End the span of a call that raised something other than an RPC status (a cancelled
        task, a serialisation bug): ERROR, with the exception as an event."""
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
        span.end()


class TracingClientInterceptor(grpc.aio.UnaryUnaryClientInterceptor):
    """A CLIENT span per unary call; its context goes out in the call's metadata.

    `call_tracing` is public so that a caller owning the channel can make the span itself and
    leave this interceptor out of its calls (see the gateway's transcoder).
    """

    def __init__(self) -> None:
        self.call_tracing = ClientCallTracing()

    async def intercept_unary_unary(
        self,
        # Really a coroutine function returning the call object (the stubs say the call itself).
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        tracing = self.call_tracing
        span, context_metadata = tracing.start(client_call_details.method)
        metadata = grpc.aio.Metadata(*(client_call_details.metadata or ()), *context_metadata)
        details = grpc.aio.ClientCallDetails(
            client_call_details.method,
            client_call_details.timeout,
            metadata,
            client_call_details.credentials,
            client_call_details.wait_for_ready,
        )
        try:
            call = await continuation(details, request)
            code = _code(await call.code(), grpc.StatusCode.UNKNOWN)
        except BaseException as exc:
            tracing.fail(span, exc)
            raise
        tracing.end(span, code)
        return call


def _code(value: object, unset: grpc.StatusCode = grpc.StatusCode.OK) -> grpc.StatusCode:
    """The servicer context reports a StatusCode, a raw int, or None when nothing was set."""
    if isinstance(value, grpc.StatusCode):
        return value
    if isinstance(value, int):
        return _CODES_BY_VALUE.get(value, grpc.StatusCode.UNKNOWN)
    return unset
