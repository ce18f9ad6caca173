"""Stored spans and logs as OTLP/JSON (Jaeger's v3 API) and as the viewer's log rows."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

from onehub_collector.otlp_json import to_otlp_json
from onehub_collector.otlp_values import any_value_to_python, attributes_to_dict
from onehub_collector.store.reader import StoredLog, StoredSpan


def spans_to_resource_spans(
    spans: Sequence[StoredSpan],
    resource_of: Callable[[int], Resource],
    scope_of: Callable[[int], InstrumentationScope],
) -> list[dict[str, Any]]:
    """OTLP/JSON `resourceSpans`, grouped by resource then scope in first-seen order."""
    grouped: dict[int, dict[int, list[dict[str, Any]]]] = {}
    for stored in spans:
        scopes = grouped.setdefault(stored.resource_id, {})
        scopes.setdefault(stored.scope_id, []).append(to_otlp_json(stored.span))
    return [
        {
            "resource": to_otlp_json(resource_of(resource_id)),
            "scopeSpans": [
                {"scope": to_otlp_json(scope_of(scope_id)), "spans": spans_json}
                for scope_id, spans_json in scopes.items()
            ],
        }
        for resource_id, scopes in grouped.items()
    ]


def log_to_row(stored: StoredLog) -> dict[str, Any]:
    """The viewer's log row: timestamp in µs, body as a plain value, attributes as a map."""
    record = stored.record
    time_ns = record.time_unix_nano or record.observed_time_unix_nano
    return {
        "timestamp": time_ns // 1000,
        "severityText": record.severity_text,
        "severityNumber": int(record.severity_number),
        "body": any_value_to_python(record.body),
        "traceID": record.trace_id.hex(),
        "spanID": record.span_id.hex(),
        "attributes": attributes_to_dict(record.attributes),
        "service": stored.service,
    }
