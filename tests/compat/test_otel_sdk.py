"""Tripwires for opentelemetry-api and opentelemetry-sdk's private parts
(onehub/telemetry/compat/otel_sdk.py)."""

from __future__ import annotations

import inspect

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from onehub.telemetry.compat.otel_sdk import Gauge, plain_attributes, span_fields
from onehub.telemetry.testing import in_memory_telemetry

from .tripwire import check, check_parameters, trip

API, SDK = "opentelemetry-api", "opentelemetry-sdk"
COMPAT = "onehub/telemetry/compat/otel_sdk.py"
REMOTE_PARENT = SpanContext(
    0x0AF7651916CD43DD8448EB211C80319C,
    0x1111,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def finished_span() -> ReadableSpan:
    """A span as the SDK hands it to an exporter: ended, with every kind of field set."""
    tracer = TracerProvider().get_tracer("tripwire")
    span = tracer.start_span(
        "GET /v1/topics/{id}",
        trace.set_span_in_context(trace.NonRecordingSpan(REMOTE_PARENT)),
        kind=SpanKind.SERVER,
        attributes={"http.request.method": "GET", "server.port": 8080},
        links=[Link(REMOTE_PARENT, {"link.attr": True})],
    )
    span.add_event("retry", {"attempt": 2})
    span.set_status(Status(StatusCode.ERROR, "NOT_FOUND"))
    span.end()
    assert isinstance(span, ReadableSpan)
    return span


def test_span_fields_are_where_the_encoder_reads_them() -> None:
    for span in (finished_span(), finished_span()._readable_span()):
        try:
            fields = span_fields(span)
        except AttributeError as missing:
            trip(SDK, COMPAT, f"{type(span).__name__} has no field {missing.name!r}")
        context, parent, name, kind, start, end, attributes, events, links, status = fields
        public = (span.context, span.parent, span.name, span.kind, span.start_time, span.end_time)
        check(
            (context, parent, name, kind, start, end) == public,
            SDK,
            COMPAT,
            f"{type(span).__name__}'s _context, _parent, _name, _kind, _start_time and _end_time"
            f" to hold what its properties return: {public}",
        )
        check(
            attributes is not None and dict(attributes) == dict(span.attributes or {}),
            SDK,
            COMPAT,
            "_attributes to hold the span's attributes",
        )
        check(
            (tuple(events), tuple(links)) == (span.events, span.links),
            SDK,
            COMPAT,
            "_events and _links to hold the span's events and links",
        )
        check(
            (status.status_code, status.description) == (StatusCode.ERROR, "NOT_FOUND"),
            SDK,
            COMPAT,
            "_status to hold the span's status",
        )


def test_attributes_have_a_plain_dict_to_iterate() -> None:
    span = finished_span()
    pieces = {
        "span": span_fields(span)[6],
        "event": plain_attributes(span.events[0].attributes or {}),
        "link": plain_attributes(span.links[0].attributes or {}),
    }

    # Without BoundedAttributes._dict the encoder still works, only slower: say so.
    for what, plain in pieces.items():
        check(
            type(plain) is dict,
            API,
            COMPAT,
            f"BoundedAttributes to keep a {what}'s attributes in a plain dict `_dict`,"
            f" got {type(plain)}",
        )
    check(
        pieces["span"] == dict(span.attributes or {}),
        API,
        COMPAT,
        "_dict to hold the attributes",
    )


def test_the_synchronous_gauge_is_metrics_private_gauge() -> None:
    reader = InMemoryMetricReader()
    sdk_gauge = MeterProvider([reader]).get_meter("tripwire").create_gauge("tripwire.g")

    check(
        isinstance(sdk_gauge, Gauge),
        API,
        COMPAT,
        f"Meter.create_gauge to return an opentelemetry.metrics._Gauge, got {type(sdk_gauge)}",
    )
    check_parameters(Gauge.set, ["self", "amount", "attributes", "context"], API, COMPAT)
    check(inspect.isabstract(Gauge), API, COMPAT, "_Gauge to be an abstract instrument class")


def test_a_gauge_from_the_switching_meter_reaches_the_sdk() -> None:
    memory = in_memory_telemetry()
    try:
        gauge = metrics.get_meter("tripwire").create_gauge("tripwire.queue.depth")
        gauge.set(7, {"queue": "export"})

        data = memory.metrics()["tripwire.queue.depth"].data.data_points
        points = [
            (p.value, dict(p.attributes or {})) for p in data if isinstance(p, NumberDataPoint)
        ]
    finally:
        memory.shutdown()
    check(points == [(7, {"queue": "export"})], API, COMPAT, f"the gauge's value, got {points}")
