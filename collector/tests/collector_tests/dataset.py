"""A small, fully known set of traces for the query tests.

- `cart`: api `GET /cart` (SERVER, 50 ms) with six identical `SELECT items` CLIENT calls (an
  N+1), then `call pricing` and `call stock` one after the other (sequential), and pricing's
  `POST /price` (SERVER, ERROR) under `call pricing` (OK): a swallowed error.
- `slow`: api `GET /slow`, 2 s, ERROR, `http.status_code` 500 (an int attribute).
- `old`: api `GET /cart` three days ago, outside Jaeger's default two-day window.
Plus two log records on `cart`.
"""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector_tests.otlp_builders import (
    CLIENT,
    ERROR,
    OK,
    SERVER,
    SpanSpec,
    logs_request,
    new_trace_id,
    traces_request,
)

MS = 1000
DAY_US = 24 * 3600 * 1_000_000
STATEMENT = "SELECT * FROM items WHERE id = ?"


@dataclass
class Dataset:
    now_us: int
    cart: bytes
    slow: bytes
    old: bytes
    root: SpanSpec
    selects: list[SpanSpec]
    pricing_call: SpanSpec
    stock_call: SpanSpec
    price: SpanSpec
    traces: ExportTraceServiceRequest
    logs: ExportLogsServiceRequest


def build(now_us: int) -> Dataset:
    cart, slow, old = new_trace_id(), new_trace_id(), new_trace_id()
    t0 = now_us - 60_000 * MS  # a minute ago
    api_resource = {"deployment.environment": "test"}
    root = SpanSpec(
        "api",
        "GET /cart",
        t0,
        50 * MS,
        cart,
        kind=SERVER,
        attributes={"http.route": "/cart", "http.status_code": 200},
        resource=api_resource,
        scope="web-framework",
        scope_version="3.1",
    )
    selects = [
        SpanSpec(
            "api",
            "SELECT items",
            t0 + (1 + 2 * i) * MS,
            1 * MS,
            cart,
            parent_id=root.span_id,
            kind=CLIENT,
            attributes={"db.statement": STATEMENT, "db.system": "sqlite"},
            resource=api_resource,
        )
        for i in range(6)
    ]
    pricing_call = SpanSpec(
        "api",
        "call pricing",
        t0 + 15 * MS,
        10 * MS,
        cart,
        parent_id=root.span_id,
        kind=CLIENT,
        status=OK,
        resource=api_resource,
        events=[("retry", t0 + 20 * MS, {"attempt": 2})],
    )
    stock_call = SpanSpec(
        "api",
        "call stock",
        t0 + 30 * MS,
        12 * MS,
        cart,
        parent_id=root.span_id,
        kind=CLIENT,
        resource=api_resource,
        links=[(slow, b"\x01" * 8)],
    )
    price = SpanSpec(
        "pricing",
        "POST /price",
        t0 + 16 * MS,
        8 * MS,
        cart,
        parent_id=pricing_call.span_id,
        kind=SERVER,
        status=ERROR,
        status_message="no price",
    )
    slow_root = SpanSpec(
        "api",
        "GET /slow",
        t0 + 5_000 * MS,
        2_000 * MS,
        slow,
        kind=SERVER,
        status=ERROR,
        attributes={"http.route": "/slow", "http.status_code": 500},
        resource=api_resource,
    )
    old_root = SpanSpec(
        "api",
        "GET /cart",
        now_us - 3 * DAY_US,
        40 * MS,
        old,
        kind=SERVER,
        attributes={"http.route": "/cart"},
        resource=api_resource,
    )
    traces = traces_request([root, *selects, pricing_call, stock_call, price, slow_root, old_root])
    logs = logs_request(
        "api",
        [
            (t0 + 2 * MS, cart, root.span_id, "cart opened", "INFO", 9),
            (t0 + 17 * MS, cart, price.span_id, "price missing", "ERROR", 17),
        ],
    )
    return Dataset(
        now_us, cart, slow, old, root, selects, pricing_call, stock_call, price, traces, logs
    )
