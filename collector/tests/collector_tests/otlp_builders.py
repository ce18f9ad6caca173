"""Hand-built OTLP requests with exact ids, times, kinds and statuses, for tests that need to
know precisely what was sent."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from onehub_collector.otlp_values import python_to_any_value

SERVER, CLIENT, INTERNAL = 2, 3, 1
OK, ERROR = 1, 2
_counter = itertools.count(1)


def new_trace_id() -> bytes:
    return os.urandom(16)


def new_span_id() -> bytes:
    return next(_counter).to_bytes(4, "big") + os.urandom(4)


@dataclass
class SpanSpec:
    """One span to send; times in microseconds since the epoch."""

    service: str
    name: str
    start_us: int
    duration_us: int
    trace_id: bytes
    span_id: bytes = field(default_factory=new_span_id)
    parent_id: bytes = b""
    kind: int = INTERNAL
    status: int = 0
    status_message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    resource: dict[str, Any] = field(default_factory=dict)
    scope: str = "tests"
    scope_version: str = "1.0"
    events: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    links: list[tuple[bytes, bytes]] = field(default_factory=list)


def traces_request(specs: list[SpanSpec]) -> ExportTraceServiceRequest:
    """A request grouping the spans by (service, resource) then scope, as SDKs do."""
    request = ExportTraceServiceRequest()
    resources: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
    for spec in specs:
        key = (spec.service, tuple(sorted((k, repr(v)) for k, v in spec.resource.items())))
        resource_spans = resources.get(key)
        if resource_spans is None:
            resource_spans = request.resource_spans.add()
            attributes = {"service.name": spec.service, **spec.resource}
            for name, value in attributes.items():
                resource_spans.resource.attributes.add(key=name, value=python_to_any_value(value))
            resources[key] = resource_spans
        scope_spans = next(
            (s for s in resource_spans.scope_spans if s.scope.name == spec.scope), None
        )
        if scope_spans is None:
            scope_spans = resource_spans.scope_spans.add()
            scope_spans.scope.name = spec.scope
            scope_spans.scope.version = spec.scope_version
        _fill_span(scope_spans.spans.add(), spec)
    return request


def _fill_span(span: Span, spec: SpanSpec) -> None:
    span.trace_id = spec.trace_id
    span.span_id = spec.span_id
    span.parent_span_id = spec.parent_id
    span.name = spec.name
    span.kind = Span.SpanKind.ValueType(spec.kind)
    span.start_time_unix_nano = spec.start_us * 1000
    span.end_time_unix_nano = (spec.start_us + spec.duration_us) * 1000
    span.status.code = Status.StatusCode.ValueType(spec.status)
    span.status.message = spec.status_message
    for name, value in spec.attributes.items():
        span.attributes.add(key=name, value=python_to_any_value(value))
    for event_name, time_us, attributes in spec.events:
        event = span.events.add(name=event_name, time_unix_nano=time_us * 1000)
        for name, value in attributes.items():
            event.attributes.add(key=name, value=python_to_any_value(value))
    for trace_id, span_id in spec.links:
        span.links.add(trace_id=trace_id, span_id=span_id)


def logs_request(
    service: str, records: list[tuple[int, bytes, bytes, str, str, int]]
) -> ExportLogsServiceRequest:
    """Log records (time µs, trace id, span id, body, severity text, severity number)."""
    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.add(key="service.name", value=python_to_any_value(service))
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "tests"
    for time_us, trace_id, span_id, body, severity_text, severity_number in records:
        record = scope_logs.log_records.add()
        record.time_unix_nano = time_us * 1000
        record.trace_id = trace_id
        record.span_id = span_id
        record.body.string_value = body
        record.severity_text = severity_text
        record.severity_number = SeverityNumber.ValueType(severity_number)
        record.attributes.add(key="logger", value=python_to_any_value("tests"))
    return request
