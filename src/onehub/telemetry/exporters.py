"""Exporters for each signal, chosen by `TelemetryConfig`.

Every argument is passed explicitly (endpoint, headers, timeout, compression), so what reaches
the SDK is what the config says and not whatever `os.environ` holds. Constructing an exporter
opens no connection: gRPC channels and HTTP sessions connect on first export, so start-up never
waits on a collector.
"""

from __future__ import annotations

from typing import Any, cast

import grpc
from grpc import Compression as GrpcCompression
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import (
    OTLPLogExporter as HttpLogExporter,
)
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetricExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from onehub.telemetry.config import Exporter, TelemetryConfig
from onehub.telemetry.span_encoding import SpanEncoder

_TRACE_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


class _PreEncodedTraceStub:
    """TraceService's Export taking the request as already-serialised bytes."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.Export = channel.unary_unary(
            _TRACE_EXPORT_METHOD,
            request_serializer=None,  # bytes go out as they are
            response_deserializer=ExportTraceServiceResponse.FromString,
        )


def encode_spans_directly(exporter: GrpcSpanExporter) -> GrpcSpanExporter:
    """Make the SDK's OTLP/gRPC span exporter encode each batch with `SpanEncoder`, straight
    to wire bytes, instead of through protobuf message objects: the same request for about a
    sixth of the CPU, which the export thread spends holding the GIL. Retries, reconnection,
    deadlines and compression stay the SDK's.

    Configured on the instance (the exporter stays the SDK's class): `_translate_data` is the
    SDK's hook for encoding, and the stub (re-made on every reconnection) takes bytes as is.
    """
    encoder = SpanEncoder()
    make_channel_and_stub = exporter._initialize_channel_and_stub

    def use_pre_encoded_stub() -> None:
        channel = cast(grpc.Channel, exporter._channel)  # made by the exporter already
        exporter._client = _PreEncodedTraceStub(channel)  # type: ignore[assignment]  # SDK says None

    def make_channel_and_pre_encoded_stub() -> None:
        make_channel_and_stub()  # type: ignore[no-untyped-call]  # SDK unannotated
        use_pre_encoded_stub()

    exporter._translate_data = encoder.encode  # type: ignore[method-assign,assignment]
    exporter._initialize_channel_and_stub = make_channel_and_pre_encoded_stub  # type: ignore[method-assign]
    use_pre_encoded_stub()
    return exporter


def span_exporters(config: TelemetryConfig) -> list[SpanExporter]:
    return [_span_exporter(config, choice) for choice in config.traces_exporters]


def metric_exporters(config: TelemetryConfig) -> list[MetricExporter]:
    return [_metric_exporter(config, choice) for choice in config.metrics_exporters]


def log_exporters(config: TelemetryConfig) -> list[LogRecordExporter]:
    return [_log_exporter(config, choice) for choice in config.logs_exporters]


def span_export_timeout_s(config: TelemetryConfig) -> float:
    """One export, retries included, never takes longer than this."""
    return min(config.otlp_timeout_ms, config.batch.export_timeout_ms) / 1000


def _grpc_options(config: TelemetryConfig, timeout: float) -> dict[str, Any]:
    return {
        "endpoint": config.otlp_endpoint,
        "insecure": _insecure(config),
        "headers": dict(config.otlp_headers),
        "timeout": timeout,
        "compression": _grpc_compression(config),
    }


def _http_options(config: TelemetryConfig, signal: str, timeout: float) -> dict[str, Any]:
    return {
        "endpoint": _signal_url(config, signal),
        "headers": dict(config.otlp_headers),
        "timeout": timeout,
        "compression": _http_compression(config),
    }


def _span_exporter(config: TelemetryConfig, choice: Exporter) -> SpanExporter:
    if choice == "console":
        return ConsoleSpanExporter()
    timeout = span_export_timeout_s(config)
    if config.otlp_protocol == "grpc":
        return encode_spans_directly(GrpcSpanExporter(**_grpc_options(config, timeout)))
    return HttpSpanExporter(**_http_options(config, "traces", timeout))


def _metric_exporter(config: TelemetryConfig, choice: Exporter) -> MetricExporter:
    if choice == "console":
        return ConsoleMetricExporter()
    timeout = config.otlp_timeout_ms / 1000
    if config.otlp_protocol == "grpc":
        return GrpcMetricExporter(**_grpc_options(config, timeout))
    return HttpMetricExporter(**_http_options(config, "metrics", timeout))


def _log_exporter(config: TelemetryConfig, choice: Exporter) -> LogRecordExporter:
    if choice == "console":
        return ConsoleLogRecordExporter()
    timeout = config.otlp_timeout_ms / 1000
    if config.otlp_protocol == "grpc":
        return GrpcLogExporter(**_grpc_options(config, timeout))
    return HttpLogExporter(**_http_options(config, "logs", timeout))


def _insecure(config: TelemetryConfig) -> bool:
    return not config.otlp_endpoint.startswith("https://")


def _signal_url(config: TelemetryConfig, signal: str) -> str:
    return f"{config.otlp_endpoint.rstrip('/')}/v1/{signal}"


def _grpc_compression(config: TelemetryConfig) -> GrpcCompression:
    return GrpcCompression.Gzip if config.otlp_gzip else GrpcCompression.NoCompression


def _http_compression(config: TelemetryConfig) -> HttpCompression:
    return HttpCompression.Gzip if config.otlp_gzip else HttpCompression.NoCompression
