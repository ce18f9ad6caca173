"""Exporters for each signal, chosen by `TelemetryConfig`.

Every argument is passed explicitly (endpoint, headers, timeout, compression), so what reaches
the SDK is what the config says and not whatever `os.environ` holds. Constructing an exporter
opens no connection: gRPC channels and HTTP sessions connect on first export, so start-up never
waits on a collector.
"""

from __future__ import annotations

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
from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, LogRecordExporter
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, MetricExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SpanExporter

from onehub.telemetry.config import Exporter, TelemetryConfig


def span_exporters(config: TelemetryConfig) -> list[SpanExporter]:
    return [_span_exporter(config, choice) for choice in config.traces_exporters]


def metric_exporters(config: TelemetryConfig) -> list[MetricExporter]:
    return [_metric_exporter(config, choice) for choice in config.metrics_exporters]


def log_exporters(config: TelemetryConfig) -> list[LogRecordExporter]:
    return [_log_exporter(config, choice) for choice in config.logs_exporters]


def span_export_timeout_s(config: TelemetryConfig) -> float:
    """One export, retries included, never takes longer than this."""
    return min(config.otlp_timeout_ms, config.batch.export_timeout_ms) / 1000


def _span_exporter(config: TelemetryConfig, choice: Exporter) -> SpanExporter:
    if choice == "console":
        return ConsoleSpanExporter()
    timeout = span_export_timeout_s(config)
    if config.otlp_protocol == "grpc":
        return GrpcSpanExporter(
            endpoint=config.otlp_endpoint,
            insecure=_insecure(config),
            headers=dict(config.otlp_headers),
            timeout=timeout,
            compression=_grpc_compression(config),
        )
    return HttpSpanExporter(
        endpoint=_signal_url(config, "traces"),
        headers=dict(config.otlp_headers),
        timeout=timeout,
        compression=_http_compression(config),
    )


def _metric_exporter(config: TelemetryConfig, choice: Exporter) -> MetricExporter:
    if choice == "console":
        return ConsoleMetricExporter()
    timeout = config.otlp_timeout_ms / 1000
    if config.otlp_protocol == "grpc":
        return GrpcMetricExporter(
            endpoint=config.otlp_endpoint,
            insecure=_insecure(config),
            headers=dict(config.otlp_headers),
            timeout=timeout,
            compression=_grpc_compression(config),
        )
    return HttpMetricExporter(
        endpoint=_signal_url(config, "metrics"),
        headers=dict(config.otlp_headers),
        timeout=timeout,
        compression=_http_compression(config),
    )


def _log_exporter(config: TelemetryConfig, choice: Exporter) -> LogRecordExporter:
    if choice == "console":
        return ConsoleLogRecordExporter()
    timeout = config.otlp_timeout_ms / 1000
    if config.otlp_protocol == "grpc":
        return GrpcLogExporter(
            endpoint=config.otlp_endpoint,
            insecure=_insecure(config),
            headers=dict(config.otlp_headers),
            timeout=timeout,
            compression=_grpc_compression(config),
        )
    return HttpLogExporter(
        endpoint=_signal_url(config, "logs"),
        headers=dict(config.otlp_headers),
        timeout=timeout,
        compression=_http_compression(config),
    )


def _insecure(config: TelemetryConfig) -> bool:
    return not config.otlp_endpoint.startswith("https://")


def _signal_url(config: TelemetryConfig, signal: str) -> str:
    return f"{config.otlp_endpoint.rstrip('/')}/v1/{signal}"


def _grpc_compression(config: TelemetryConfig) -> GrpcCompression:
    return GrpcCompression.Gzip if config.otlp_gzip else GrpcCompression.NoCompression


def _http_compression(config: TelemetryConfig) -> HttpCompression:
    return HttpCompression.Gzip if config.otlp_gzip else HttpCompression.NoCompression
