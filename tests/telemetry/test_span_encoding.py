"""The wire-level span encoder sends exactly what the SDK's OTLP encoder would."""

from __future__ import annotations

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceState

from onehub.telemetry.span_encoding import SpanEncoder

SERVICE = Resource.create({"service.name": "onehub", "host.name": "box"}, "https://schema/1")
OTHER = Resource.create({"service.name": "other"})
SCOPE = InstrumentationScope("onehub.services", "1.0", "https://schema/s", {"scope.attr": 1})
TRACE_ID = 0x0AF7651916CD43DD8448EB211C80319C


def span(
    name: str,
    span_id: int,
    *,
    parent: SpanContext | None = None,
    resource: Resource = SERVICE,
    scope: InstrumentationScope | None = SCOPE,
    **fields: object,
) -> ReadableSpan:
    context = SpanContext(TRACE_ID, span_id, is_remote=False, trace_state=fields.pop("state", None))  # type: ignore[arg-type]
    return ReadableSpan(
        name=name,
        context=context,
        parent=parent,
        resource=resource,
        instrumentation_scope=scope,
        start_time=1_700_000_000_000_000_001,
        end_time=1_700_000_000_500_000_002,
        **fields,  # type: ignore[arg-type]
    )


def decoded(spans: list[ReadableSpan], encoder: SpanEncoder) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(encoder.encode(spans))


def test_a_varied_batch_decodes_to_the_sdk_encoding() -> None:
    remote_parent = SpanContext(TRACE_ID, 0x1111, is_remote=True)
    local_parent = SpanContext(TRACE_ID, 0x2222, is_remote=False)
    spans = [
        span(
            "gateway GET /v1/topics/{id}",
            0x2222,
            parent=remote_parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": "GET",
                "server.port": 8080,
                "negative": -5,
                "ratio": 0.25,
                "flag": False,
                "empty": "",
                "zero": 0,
                "tags": ("a", "b"),
                "numbers": (1, 2, 3),
                "raw": b"\x00\x01",
                "text": "héllo ✓",
            },
            status=Status(StatusCode.ERROR, "NOT_FOUND"),
            state=TraceState([("vendor", "value"), ("other", "x")]),
        ),
        span(
            "GetTopic",
            0x3333,
            parent=local_parent,
            kind=SpanKind.INTERNAL,
            attributes={"enduser.id": "admin"},
            events=[
                Event("exception", {"exception.type": "NotFound"}, timestamp=1_700_000_000_1),
                Event("", None, timestamp=5),
            ],
            links=[Link(remote_parent, {"link.attr": True}), Link(local_parent)],
            status=Status(StatusCode.OK),
        ),
        span("root", 0x4444, kind=SpanKind.CLIENT, scope=None, resource=OTHER),
        span("producer", 0x5555, kind=SpanKind.PRODUCER, attributes={"big": 2**63 - 1}),
    ]

    assert decoded(spans, SpanEncoder()) == encode_spans(spans)


def test_cached_attributes_are_encoded_the_same_the_second_time() -> None:
    encoder = SpanEncoder()
    batch = [
        span(f"db.GetTopic {n}", 0x10 + n, attributes={"db.system.name": "sqlite", "n": n % 2})
        for n in range(5)
    ]

    first, second = decoded(batch, encoder), decoded(batch, encoder)

    assert first == second == encode_spans(batch)


def test_values_beyond_what_otlp_carries_are_skipped_as_the_sdk_skips_them() -> None:
    oversized = span("huge", 0x77, attributes={"too.big": 2**64, "kept": "yes"})

    request = decoded([oversized], SpanEncoder())

    [attribute] = request.resource_spans[0].scope_spans[0].spans[0].attributes
    assert (attribute.key, attribute.value.string_value) == ("kept", "yes")
