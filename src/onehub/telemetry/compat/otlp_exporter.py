"""The private parts of the OTLP exporter packages that OneHub relies on.

Checked against opentelemetry-exporter-otlp-proto-common and -proto-grpc 1.45.1
(`CHECKED_AGAINST`), the only versions pyproject.toml allows; tests/compat/test_otlp_exporter.py
fails, naming the installed version, when any of these changes shape or stops taking effect.

Touched here, and nowhere else:
- `opentelemetry.exporter.otlp.proto.common._internal`: `_encode_resource`,
  `_encode_instrumentation_scope` and `_encode_key_value`, the SDK's encoders of the pieces the
  span encoder caches or cannot write itself (`encoded_resource`, `encoded_scope`,
  `encoded_key_value`).
- The OTLP/gRPC exporter's (`OTLPExporterMixin`) hooks, overridden by subclassing
  (`PreEncodedSpanExporter`): `_translate_data(data)`, whose result `_export` hands to
  `self._client.Export(request=..., metadata=..., timeout=...)`; `_initialize_channel_and_stub()`,
  called by `__init__` and again on every reconnection, which sets `_channel` and `_client`.

The exporter's public extension point is `SpanExporter` itself (export, shutdown, force_flush);
writing one from scratch would mean re-doing the SDK's retries with backoff, reconnection on
UNAVAILABLE, deadlines, compression and TLS. A subclass keeps all of that and changes only how a
batch becomes bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, cast

import grpc
from opentelemetry.exporter.otlp.proto.common._internal import (
    _encode_instrumentation_scope,
    _encode_key_value,
    _encode_resource,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

CHECKED_AGAINST: Final = {
    "opentelemetry-exporter-otlp-proto-common": "1.45.1",
    "opentelemetry-exporter-otlp-proto-grpc": "1.45.1",
}
TRACE_EXPORT_METHOD: Final = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def encoded_resource(resource: Resource) -> bytes:
    """The SDK's `Resource` message for `resource`, serialised."""
    return bytes(_encode_resource(resource).SerializeToString())


def encoded_scope(scope: InstrumentationScope | None) -> bytes:
    """The SDK's `InstrumentationScope` message, serialised; a missing scope is an empty one."""
    return bytes(_encode_instrumentation_scope(scope).SerializeToString())  # type: ignore[arg-type]  # None is handled


def encoded_key_value(key: str, value: Any) -> bytes:
    """The SDK's `KeyValue` message, serialised. Raises whatever the SDK raises for a value
    OTLP cannot carry (the SDK's exporter logs it and drops the attribute)."""
    return bytes(_encode_key_value(key, value).SerializeToString())


class PreEncodedTraceStub:
    """TraceService's Export taking the request as already serialised bytes."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.Export: grpc.UnaryUnaryMultiCallable[bytes, ExportTraceServiceResponse]
        self.Export = channel.unary_unary(
            TRACE_EXPORT_METHOD,
            request_serializer=None,  # bytes go out as they are
            response_deserializer=ExportTraceServiceResponse.FromString,
        )


class PreEncodedSpanExporter(OTLPSpanExporter):
    """The SDK's OTLP/gRPC span exporter, sending each batch as `encode` writes it (bytes of an
    `ExportTraceServiceRequest`) instead of through protobuf message objects. Retries,
    reconnection, deadlines and compression stay the SDK's.

    Takes the SDK exporter's keyword arguments after `encode`.
    """

    def __init__(self, encode: Callable[[Sequence[ReadableSpan]], bytes], **options: Any) -> None:
        self._encode = encode  # before the SDK's __init__, which makes the first stub
        super().__init__(**options)

    def _translate_data(self, data: Sequence[ReadableSpan]) -> bytes:  # type: ignore[override]  # bytes, for the stub below
        return self._encode(data)

    def _initialize_channel_and_stub(self) -> None:
        super()._initialize_channel_and_stub()  # type: ignore[no-untyped-call]  # SDK unannotated
        channel = cast(grpc.Channel, self._channel)  # just made by the SDK
        self._client = PreEncodedTraceStub(channel)  # type: ignore[assignment]  # the SDK's stub type
