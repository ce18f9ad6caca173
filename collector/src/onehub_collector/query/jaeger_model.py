"""Stored spans in Jaeger's JSON model (jaeger/model/json), the way Jaeger's OTLP translator
maps OpenTelemetry spans: kind, status and scope become tags, events become logs, the parent
becomes a CHILD_OF reference and links FOLLOWS_FROM references, resources become processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from onehub_collector.otlp_values import SERVICE_NAME_KEY, typed_value
from onehub_collector.store.reader import StoredSpan

KIND_NAMES = {1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_NAMES = {1: "OK", 2: "ERROR"}
STATUS_ERROR = 2


def tag(key: str, type_: str, value: Any) -> dict[str, Any]:
    return {"key": key, "type": type_, "value": value}


def tags_of(attributes: Sequence[KeyValue], skip: str | None = None) -> list[dict[str, Any]]:
    tags = []
    for kv in attributes:
        if kv.key != skip:
            type_, value = typed_value(kv.value)
            tags.append(tag(kv.key, type_, value))
    return tags


def span_to_jaeger(
    stored: StoredSpan, process_id: str, scope: InstrumentationScope
) -> dict[str, Any]:
    span = stored.span
    trace_id = span.trace_id.hex()
    references = []
    if span.parent_span_id:
        references.append(
            {"refType": "CHILD_OF", "traceID": trace_id, "spanID": span.parent_span_id.hex()}
        )
    for link in span.links:
        references.append(
            {
                "refType": "FOLLOWS_FROM",
                "traceID": link.trace_id.hex(),
                "spanID": link.span_id.hex(),
            }
        )
    tags = tags_of(span.attributes)
    if scope.name:
        tags.append(tag("otel.scope.name", "string", scope.name))
    if scope.version:
        tags.append(tag("otel.scope.version", "string", scope.version))
    if span.kind in KIND_NAMES:
        tags.append(tag("span.kind", "string", KIND_NAMES[span.kind]))
    if span.status.code in STATUS_NAMES:
        tags.append(tag("otel.status_code", "string", STATUS_NAMES[span.status.code]))
    if span.status.code == STATUS_ERROR:
        tags.append(tag("error", "bool", True))
    if span.status.message:
        tags.append(tag("otel.status_description", "string", span.status.message))
    if span.trace_state:
        tags.append(tag("w3c.tracestate", "string", span.trace_state))
    start_us = span.start_time_unix_nano // 1000
    return {
        "traceID": trace_id,
        "spanID": span.span_id.hex(),
        "operationName": span.name,
        "references": references,
        "startTime": start_us,
        "duration": max(span.end_time_unix_nano // 1000 - start_us, 0),
        "tags": tags,
        "logs": [
            {
                "timestamp": event.time_unix_nano // 1000,
                "fields": [tag("event", "string", event.name), *tags_of(event.attributes)],
            }
            for event in span.events
        ],
        "processID": process_id,
        "warnings": None,
        "flags": span.flags & 0xFF,
    }


def trace_to_jaeger(
    trace_id: bytes,
    spans: Sequence[StoredSpan],
    resource_of: Callable[[int], Resource],
    scope_of: Callable[[int], InstrumentationScope],
) -> dict[str, Any]:
    """One Jaeger trace: `{traceID, spans, processes: {p1: ...}, warnings}`."""
    process_ids: dict[int, str] = {}
    processes: dict[str, dict[str, Any]] = {}
    jaeger_spans = []
    for stored in spans:
        process_id = process_ids.get(stored.resource_id)
        if process_id is None:
            process_id = f"p{len(process_ids) + 1}"
            process_ids[stored.resource_id] = process_id
            resource = resource_of(stored.resource_id)
            processes[process_id] = {
                "serviceName": stored.service,
                "tags": tags_of(resource.attributes, skip=SERVICE_NAME_KEY),
            }
        jaeger_spans.append(span_to_jaeger(stored, process_id, scope_of(stored.scope_id)))
    return {
        "traceID": trace_id.hex(),
        "spans": jaeger_spans,
        "processes": processes,
        "warnings": None,
    }
