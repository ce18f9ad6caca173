"""Jaeger-JSON traces shaped like OneHub's own (see docs/telemetry.md), for the tests that need a
trace file rather than a stored trace: the export's escaping and the viewer's upload."""

from __future__ import annotations

import itertools
from typing import Any

SERVICE = "onehub.backend"
CLIENT_SERVICE = "web.client"
QUERY_TEXT = "SELECT topics.id, topics.name FROM topics WHERE topics.id = ?"
_ids = itertools.count(1)


def _hex(width: int) -> str:
    return f"{next(_ids):0{width}x}"


def _tag(key: str, value: Any) -> dict[str, Any]:
    kind = (
        "bool"
        if isinstance(value, bool)
        else "int64"
        if isinstance(value, int)
        else "float64"
        if isinstance(value, float)
        else "string"
    )
    return {"key": key, "type": kind, "value": value}


class TraceBuilder:
    """Builds one Jaeger trace object span by span."""

    def __init__(self, start_us: int) -> None:
        self.trace_id = _hex(32)
        self.start_us = start_us
        self.spans: list[dict[str, Any]] = []
        self.processes: dict[str, dict[str, Any]] = {}

    def _process(self, service: str) -> str:
        for key, process in self.processes.items():
            if process["serviceName"] == service:
                return key
        key = f"p{len(self.processes) + 1}"
        self.processes[key] = {
            "serviceName": service,
            "tags": [_tag("service.version", "0.0.1"), _tag("host.name", "devbox")],
        }
        return key

    def span(
        self,
        name: str,
        *,
        parent: dict[str, Any] | None,
        offset_us: int,
        duration_us: int,
        kind: str = "internal",
        service: str = SERVICE,
        error: bool = False,
        **attributes: Any,
    ) -> dict[str, Any]:
        tags = [_tag(k.replace("__", "."), v) for k, v in attributes.items()]
        tags.append(_tag("span.kind", kind))
        logs: list[dict[str, Any]] = []
        if error:
            tags += [_tag("error", True), _tag("otel.status_code", "ERROR")]
            tags.append(_tag("otel.status_description", "topic not found"))
            logs.append(
                {
                    "timestamp": self.start_us + offset_us + duration_us // 2,
                    "fields": [
                        _tag("event", "exception"),
                        _tag("exception.type", "NotFound"),
                        _tag("exception.message", "topic not found"),
                    ],
                }
            )
        references = (
            [{"refType": "CHILD_OF", "traceID": self.trace_id, "spanID": parent["spanID"]}]
            if parent
            else []
        )
        span = {
            "traceID": self.trace_id,
            "spanID": _hex(16),
            "operationName": name,
            "references": references,
            "startTime": self.start_us + offset_us,
            "duration": duration_us,
            "tags": tags,
            "logs": logs,
            "processID": self._process(service),
            "warnings": None,
        }
        self.spans.append(span)
        return span

    def build(self) -> dict[str, Any]:
        return {
            "traceID": self.trace_id,
            "spans": self.spans,
            "processes": self.processes,
            "warnings": None,
        }


def list_topics_trace(start_us: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """GET /api/v1/topics: the six-level tree of docs/telemetry.md, with an N+1 of three SELECTs.

    Returns the trace and its log records (x/traces/{id}/logs shape).
    """
    b = TraceBuilder(start_us)
    gateway = b.span(
        "gateway GET /v1/topics",
        parent=None,
        offset_us=0,
        duration_us=9_000,
        kind="server",
        http__request__method="GET",
        url__path="/api/v1/topics",
        http__route="/v1/topics",
        http__response__status_code=200,
    )
    rpc: dict[str, Any] = {
        "rpc__system__name": "grpc",
        "rpc__method": "onehub.v1.TopicService/ListTopics",
    }
    client = b.span(
        "onehub.v1.TopicService/ListTopics",
        parent=gateway,
        offset_us=500,
        duration_us=8_000,
        kind="client",
        **rpc,
    )
    server = b.span(
        "onehub.v1.TopicService/ListTopics",
        parent=client,
        offset_us=900,
        duration_us=7_200,
        kind="server",
        rpc__status_code=0,
        **rpc,
    )
    method = b.span(
        "ListTopics", parent=server, offset_us=1_100, duration_us=6_800, enduser__id="alice"
    )
    store = b.span("db.ListTopics", parent=method, offset_us=1_300, duration_us=6_200)
    for i in range(3):
        b.span(
            "SELECT topics",
            parent=store,
            offset_us=1_500 + i * 2_000,
            duration_us=1_800,
            kind="client",
            db__system__name="sqlite",
            db__operation__name="SELECT",
            db__query__text=QUERY_TEXT,
        )
    trace = b.build()
    logs = [
        _log(trace, method, 1_200, 9, "INFO", "listing topics for alice"),
        _log(trace, store, 7_000, 13, "WARN", "three queries where one would do"),
    ]
    return trace, logs


def get_topic_error_trace(start_us: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A failed GET /api/v1/topics/{id} from another service: an error on the gRPC client span."""
    b = TraceBuilder(start_us)
    browser = b.span(
        "GET /api/v1/topics/{id}",
        parent=None,
        offset_us=0,
        duration_us=4_000,
        kind="client",
        service=CLIENT_SERVICE,
    )
    gateway = b.span(
        "gateway GET /v1/topics/{id}",
        parent=browser,
        offset_us=300,
        duration_us=3_400,
        kind="server",
        http__response__status_code=404,
    )
    b.span(
        "onehub.v1.TopicService/GetTopic",
        parent=gateway,
        offset_us=600,
        duration_us=2_800,
        kind="client",
        error=True,
        rpc__status_code=5,
    )
    trace = b.build()
    return trace, [_log(trace, gateway, 3_500, 17, "ERROR", "topic 42 not found")]


def _log(
    trace: dict[str, Any], span: dict[str, Any], offset_us: int, number: int, text: str, body: str
) -> dict[str, Any]:
    return {
        "timestamp": trace["spans"][0]["startTime"] + offset_us,
        "severityText": text,
        "severityNumber": number,
        "body": body,
        "traceID": trace["traceID"],
        "spanID": span["spanID"],
        "attributes": {"code.function": "list_topics"},
        "service": SERVICE,
    }
