"""The gateway's one SERVER span per request, through the OpenTelemetry API only.

The span is named `gateway {METHOD} {route}` (route: the OpenAPI-style template, whatever the
prefix), or `gateway {METHOD}` when no route matched; the raw path goes in `url.path`. An
incoming `traceparent` (and baggage) is extracted and made current for the whole request, so
a gRPC client interceptor on the channel continues the same trace.

When the channel's tracing interceptor offers its `call_tracing`, the transcoder makes the
CLIENT span itself and leaves the interceptor out of its calls (`take_over_client_tracing`):
the same span, without the grpc.aio interceptor machinery on every request.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

import grpc
import grpc.aio
from opentelemetry import context, metrics, propagate, trace
from opentelemetry.semconv.attributes import (
    error_attributes,
    http_attributes,
    server_attributes,
    url_attributes,
)
from opentelemetry.semconv.metrics import http_metrics
from opentelemetry.trace import Span, SpanContext, SpanKind, Status, StatusCode

from onehub.transport.gateway.grpc_aio_compat import (
    client_interceptors,
    replace_client_interceptors,
)

_KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)


class ClientCallTracing(Protocol):
    """What a tracing client interceptor offers to a caller that makes its CLIENT span itself."""

    def start(self, raw_method: str | bytes) -> tuple[Span, list[tuple[str, str]]]: ...
    def end(self, span: Span, code: grpc.StatusCode) -> None: ...
    def fail(self, span: Span, exc: BaseException) -> None: ...


def take_over_client_tracing(
    call: grpc.aio.UnaryUnaryMultiCallable[Any, Any],
) -> ClientCallTracing | None:
    """Leave the channel's tracing interceptor out of `call` and return its `call_tracing`,
    for the caller to make the same CLIENT span; None (and `call` untouched) when the channel
    has no such interceptor, or this grpc version keeps interceptors where we do not look.

    grpc.aio has no public way to skip an interceptor for one method, so this replaces the
    multicallable's own interceptor list (`grpc_aio_compat`); an unexpected shape leaves the
    interceptor in place.
    """
    interceptors = client_interceptors(call)
    if interceptors is None:
        return None
    tracing: ClientCallTracing | None = None
    rest: list[object] = []
    for interceptor in interceptors:
        offered = getattr(interceptor, "call_tracing", None)
        if tracing is None and offered is not None:
            tracing = offered
        else:
            rest.append(interceptor)
    if tracing is not None:
        replace_client_interceptors(call, rest)
    return tracing


@contextmanager
def server_span(
    tracer: trace.Tracer,
    method: str,
    route: str | None,
    raw_path: str,
    scope: Mapping[str, Any],
    headers: Mapping[str, str],
) -> Iterator[Span]:
    """Start the request's span as a child of the caller's context and make it current."""
    known = method if method in _KNOWN_METHODS else "_OTHER"
    name_method = method if method in _KNOWN_METHODS else "HTTP"
    name = f"gateway {name_method} {route}" if route else f"gateway {name_method}"
    attributes: dict[str, str | int] = {
        http_attributes.HTTP_REQUEST_METHOD: known,
        url_attributes.URL_PATH: raw_path,
        url_attributes.URL_SCHEME: scope.get("scheme", "http"),
    }
    if route:
        attributes[http_attributes.HTTP_ROUTE] = route
    server = scope.get("server")
    if server:
        attributes[server_attributes.SERVER_ADDRESS] = server[0]
        if server[1] is not None:
            attributes[server_attributes.SERVER_PORT] = server[1]
    parent = propagate.extract(headers)
    # One attach of the caller's context with our span in it, rather than attaching the caller's
    # context and then start_as_current_span's own (two generator context managers, two
    # attach/detach pairs).
    span = tracer.start_span(
        name,
        parent,
        kind=SpanKind.SERVER,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    )
    token = context.attach(trace.set_span_in_context(span, parent))
    try:
        yield span
    finally:
        context.detach(token)
        span.end()


class RequestDurations:
    """`http.server.request.duration` (seconds) with low-cardinality attributes: method, route
    template (never the raw path), status and scheme. Recorded while the request's span is
    current, so an SDK that keeps exemplars links them to the trace."""

    def __init__(self, meter: metrics.Meter) -> None:
        self._histogram = meter.create_histogram(
            http_metrics.HTTP_SERVER_REQUEST_DURATION,
            unit="s",
            description="Duration of HTTP server requests handled by the gateway",
        )
        self._attributes: dict[tuple[str, str | None, int, str], dict[str, str | int]] = {}

    @staticmethod
    def start() -> float:
        return time.perf_counter()

    def record(
        self, started: float, method: str, route: str | None, status: int, scheme: str
    ) -> None:
        key = (method, route, status, scheme)
        attributes = self._attributes.get(key)
        if attributes is None:
            attributes = {
                http_attributes.HTTP_REQUEST_METHOD: method
                if method in _KNOWN_METHODS
                else "_OTHER",
                http_attributes.HTTP_RESPONSE_STATUS_CODE: status,
                url_attributes.URL_SCHEME: scheme,
            }
            if route:
                attributes[http_attributes.HTTP_ROUTE] = route
            if status >= 500:
                attributes[error_attributes.ERROR_TYPE] = str(status)
            # Bounded: methods outside the known set fold into _OTHER, routes are templates.
            if len(self._attributes) < 4096:
                self._attributes[key] = attributes
        self._histogram.record(time.perf_counter() - started, attributes)


def record_status(span: Span, status: int) -> None:
    """Set the response status; only a 5xx makes the span an error (semantic conventions)."""
    span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
    if status >= 500:
        span.set_attribute(error_attributes.ERROR_TYPE, str(status))
        span.set_status(Status(StatusCode.ERROR))


def trace_id_of(span_context: SpanContext) -> str | None:
    """The hex trace id to show a user, or None when tracing is off."""
    return format(span_context.trace_id, "032x") if span_context.is_valid else None


def traceresponse(span_context: SpanContext) -> bytes | None:
    """The W3C Trace Context level 2 `traceresponse` header value, or None when tracing is off."""
    if not span_context.is_valid:
        return None
    return (
        f"00-{span_context.trace_id:032x}-{span_context.span_id:016x}"
        f"-{span_context.trace_flags:02x}"
    ).encode()
