"""Synthetic OTLP trace requests, cheap to make unique.

Templates are built once with protobuf (slow in Python); every trace id in a template starts
with the same random 8-byte marker, so one `bytes.replace` per request gives all of its traces
new ids. That keeps the sender's own CPU far below the collector's.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

SERVICES = ("frontend", "backend", "database")
OPERATIONS = tuple(f"op-{i}" for i in range(12))
SPANS_PER_TRACE = 8
SPANS_PER_REQUEST = 512
_TEMPLATES = 16


def _template(marker: bytes, rng: random.Random, now_ns: int) -> bytes:
    request = ExportTraceServiceRequest()
    scopes = {}
    for service in SERVICES:
        resource_spans = request.resource_spans.add()
        attributes = resource_spans.resource.attributes
        attributes.add(key="service.name").value.string_value = service
        attributes.add(key="host.name").value.string_value = "bench-host"
        attributes.add(key="process.pid").value.int_value = 4242
        scope_spans = resource_spans.scope_spans.add()
        scope_spans.scope.name = "bench"
        scope_spans.scope.version = "1.0"
        scopes[service] = scope_spans
    made = 0
    while made < SPANS_PER_REQUEST:
        trace_id = marker + os.urandom(8)
        parent = b""
        start = now_ns - rng.randrange(3_000_000_000_000)  # within the last 50 minutes
        for depth in range(SPANS_PER_TRACE):
            span = scopes[SERVICES[depth % len(SERVICES)]].spans.add()
            span.trace_id = trace_id
            span.span_id = os.urandom(8)
            span.parent_span_id = parent
            parent = span.span_id
            span.name = rng.choice(OPERATIONS)
            span.kind = 2 if depth == 0 else 3  # type: ignore[assignment]
            span.start_time_unix_nano = start + depth * 1_000_000
            span.end_time_unix_nano = span.start_time_unix_nano + rng.randrange(
                100_000, 800_000_000
            )
            for index in range(8):
                span.attributes.add(
                    key=f"attr.{index}"
                ).value.string_value = f"v{rng.randrange(100)}"
            span.attributes.add(key="http.status_code").value.int_value = 200
            if rng.random() < 0.05:
                span.status.code = 2  # type: ignore[assignment]
            made += 1
            if made == SPANS_PER_REQUEST:
                break
    return request.SerializeToString()


class Workload:
    """An endless supply of distinct 512-span requests (encoded)."""

    def __init__(self, seed: int = 7) -> None:
        rng = random.Random(seed)
        self._marker = os.urandom(8)
        now_ns = time.time_ns()
        self._templates = [_template(self._marker, rng, now_ns) for _ in range(_TEMPLATES)]
        self._counter = int.from_bytes(os.urandom(4), "big") << 32

    def requests(self) -> Iterator[bytes]:
        index = 0
        while True:
            self._counter += 1
            template = self._templates[index % _TEMPLATES]
            index += 1
            yield template.replace(self._marker, self._counter.to_bytes(8, "big"))
