"""Tripwires for the OTLP exporter packages' private parts
(onehub/telemetry/compat/otlp_exporter.py): the SDK's encoders are where we call them, our wire
encoder writes the SDK's bytes, and the exporter subclass really sends them, reconnection
included."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from google.rpc.error_details_pb2 import RetryInfo
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common import _internal
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.exporter import OTLPExporterMixin
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags

from onehub.telemetry.compat.otlp_exporter import TRACE_EXPORT_METHOD, PreEncodedSpanExporter
from onehub.telemetry.span_encoding import SpanEncoder

from .tripwire import check, check_parameters

COMMON = "opentelemetry-exporter-otlp-proto-common"
GRPC = "opentelemetry-exporter-otlp-proto-grpc"
COMPAT = "onehub/telemetry/compat/otlp_exporter.py"


def real_spans() -> Sequence[ReadableSpan]:
    """A batch as the SDK's pipeline makes it: two scopes, remote and local parents, events,
    links, errors, every scalar attribute type and a sequence."""
    finished = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "onehub"}))
    provider.add_span_processor(SimpleSpanProcessor(finished))
    gateway = provider.get_tracer("onehub.transport.gateway", "1.0", "https://schema/1")
    storage = provider.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    caller = SpanContext(
        0x0AF7651916CD43DD8448EB211C80319C, 0x1111, True, TraceFlags(TraceFlags.SAMPLED)
    )
    remote = trace.set_span_in_context(trace.NonRecordingSpan(caller))
    with gateway.start_as_current_span(
        "gateway GET /v1/topics/{id}",
        remote,
        kind=SpanKind.SERVER,
        attributes={"url.path": "/v1/topics/7", "server.port": 8080, "ratio": 0.5, "ok": True},
        links=[Link(caller, {"link.kind": "follows"})],
    ) as server:
        server.add_event("retry", {"attempt": 2, "tags": ("a", "b")})
        with storage.start_as_current_span("SELECT onehub.db", kind=SpanKind.CLIENT) as query:
            query.set_attribute("db.query.text", "SELECT * FROM topics WHERE id = ?")
            query.set_status(Status(StatusCode.ERROR, "database is locked"))
        server.set_attribute("raw", b"\x00\x01")
    provider.shutdown()
    return finished.get_finished_spans()


def test_the_sdk_encoders_we_call_are_where_we_call_them() -> None:
    check_parameters(_internal._encode_resource, ["resource"], COMMON, COMPAT)
    check_parameters(
        _internal._encode_instrumentation_scope, ["instrumentation_scope"], COMMON, COMPAT
    )
    check_parameters(_internal._encode_key_value, ["key", "value"], COMMON, COMPAT)
    check_parameters(OTLPExporterMixin._translate_data, ["self", "data"], GRPC, COMPAT)
    check_parameters(OTLPExporterMixin._initialize_channel_and_stub, ["self"], GRPC, COMPAT)


def test_the_wire_encoder_writes_the_bytes_the_sdk_encoder_writes() -> None:
    spans = real_spans()

    ours, sdks = SpanEncoder().encode(spans), encode_spans(spans).SerializeToString()

    check(
        ours == sdks,
        COMMON,
        COMPAT,
        f"SpanEncoder to write the SDK's bytes ({len(sdks)}), wrote different ones ({len(ours)})",
    )


@dataclass
class TraceCollector:
    """A real gRPC TraceService/Export on port 0 that keeps each request's raw bytes; answers
    UNAVAILABLE, retry at once, to the first `refuse` requests."""

    refuse: int = 0
    received: list[bytes] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def export(self, request: bytes, context: grpc.ServicerContext) -> bytes:
        with self.lock:
            self.received.append(request)
            refused = len(self.received) <= self.refuse
        if refused:
            retry_now = RetryInfo(retry_delay=Duration(seconds=0))
            context.set_trailing_metadata(
                (("google.rpc.retryinfo-bin", retry_now.SerializeToString()),)
            )
            context.abort(grpc.StatusCode.UNAVAILABLE, "restarting")
        return bytes(ExportTraceServiceResponse().SerializeToString())


@pytest.fixture
def collector() -> Iterator[tuple[TraceCollector, int]]:
    receiver = TraceCollector()
    service, method = TRACE_EXPORT_METHOD.lstrip("/").split("/")
    handler = grpc.method_handlers_generic_handler(
        service,
        {method: grpc.unary_unary_rpc_method_handler(receiver.export)},  # raw bytes
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield receiver, port
    server.stop(None)


class CountingEncoder:
    """SpanEncoder, counting the batches it encodes."""

    def __init__(self) -> None:
        self.batches = 0
        self._encoder = SpanEncoder()

    def __call__(self, spans: Sequence[ReadableSpan]) -> bytes:
        self.batches += 1
        return self._encoder.encode(spans)


def export(port: int, spans: Sequence[ReadableSpan], encode: Any) -> SpanExportResult:
    exporter = PreEncodedSpanExporter(
        encode, endpoint=f"127.0.0.1:{port}", insecure=True, timeout=5
    )
    try:
        return exporter.export(spans)
    finally:
        exporter.shutdown()


def test_the_exporter_sends_the_pre_encoded_bytes(collector: tuple[TraceCollector, int]) -> None:
    receiver, port = collector
    spans = real_spans()
    encoder = CountingEncoder()

    result = export(port, spans, encoder)

    check(result is SpanExportResult.SUCCESS, GRPC, COMPAT, f"a successful export, got {result}")
    check(encoder.batches == 1, GRPC, COMPAT, "the exporter to encode through _translate_data")
    check(
        receiver.received == [encode_spans(spans).SerializeToString()],
        GRPC,
        COMPAT,
        "the collector to receive the SDK's request bytes",
    )


def test_the_pre_encoded_stub_survives_a_reconnection(
    collector: tuple[TraceCollector, int],
) -> None:
    receiver, port = collector
    receiver.refuse = 1  # UNAVAILABLE: the SDK closes the channel and makes a new stub
    spans = real_spans()
    encoder = CountingEncoder()

    result = export(port, spans, encoder)

    check(
        result is SpanExportResult.SUCCESS and encoder.batches == 2,
        GRPC,
        COMPAT,
        "the retry after UNAVAILABLE to go out pre-encoded on the re-made stub"
        f" (_initialize_channel_and_stub); got {result} after {encoder.batches} encodings",
    )
    expected = encode_spans(spans).SerializeToString()
    check(receiver.received == [expected, expected], GRPC, COMPAT, "the same bytes both times")
