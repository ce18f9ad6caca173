"""Exporters for each signal, chosen by `TelemetryConfig`.

Every argument is passed explicitly (endpoint, headers, timeout, compression, TLS files), per
signal, so what reaches the SDK is what the config says and not whatever `os.environ` holds; the
HTTP exporters' session ignores the environment too (REQUESTS_CA_BUNDLE would otherwise replace
the CA file). Constructing an exporter opens no connection: gRPC channels and HTTP sessions
connect on first export, so start-up never waits on a collector.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import grpc
import requests
from grpc import Compression as GrpcCompression
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import (
    OTLPLogExporter as GrpcLogExporter,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetricExporter,
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

from onehub.telemetry.compat.otlp_exporter import PreEncodedSpanExporter
from onehub.telemetry.config import (
    Exporter,
    OtlpTarget,
    Signal,
    TelemetryConfig,
    TelemetryConfigError,
)
from onehub.telemetry.span_encoding import SpanEncoder


def span_exporters(config: TelemetryConfig) -> list[SpanExporter]:
    return [_span_exporter(config, choice) for choice in config.traces_exporters]


def metric_exporters(config: TelemetryConfig) -> list[MetricExporter]:
    return [_metric_exporter(config, choice) for choice in config.metrics_exporters]


def log_exporters(config: TelemetryConfig) -> list[LogRecordExporter]:
    return [_log_exporter(config, choice) for choice in config.logs_exporters]


def span_export_timeout_s(config: TelemetryConfig, signal: Signal = "traces") -> float:
    """One export, retries included, never takes longer than this."""
    return min(config.otlp_target(signal).timeout_ms, config.batch.export_timeout_ms) / 1000


def exporter_options(target: OtlpTarget, timeout: float) -> dict[str, Any]:
    """The keyword arguments of the SDK's OTLP exporter of `target.protocol`."""
    if target.protocol == "grpc":
        return {
            "endpoint": target.url,
            "insecure": target.insecure,
            "credentials": None if target.insecure else _grpc_credentials(target),
            "headers": dict(target.headers),
            "timeout": timeout,
            "compression": _grpc_compression(target),
        }
    return {
        "endpoint": target.url,
        # requests verifies against its own CA bundle when given no file: the same default.
        "certificate_file": target.certificate or requests.utils.DEFAULT_CA_BUNDLE_PATH,
        "client_key_file": target.client_key,
        "client_certificate_file": target.client_certificate,
        "headers": dict(target.headers),
        "timeout": timeout,
        "compression": _http_compression(target),
        "session": _session(),
    }


def _session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # the config, not the process environment, decides
    return session


def _grpc_credentials(target: OtlpTarget) -> grpc.ChannelCredentials:
    def read(path: str | None, what: str) -> bytes | None:
        if path is None:
            return None
        try:
            return Path(path).read_bytes()
        except OSError as error:
            raise TelemetryConfigError(f"{what} {path!r}: {error.strerror}") from None

    return grpc.ssl_channel_credentials(
        root_certificates=read(target.certificate, "CA certificate"),
        private_key=read(target.client_key, "client key"),
        certificate_chain=read(target.client_certificate, "client certificate"),
    )


def _span_exporter(config: TelemetryConfig, choice: Exporter) -> SpanExporter:
    if choice == "console":
        return ConsoleSpanExporter()
    target = config.otlp_target("traces")
    options = exporter_options(target, span_export_timeout_s(config))
    if target.protocol == "grpc":
        # Each batch encoded by SpanEncoder, straight to wire bytes, rather than through
        # protobuf message objects: the same request for about a sixth of the CPU, which the
        # export thread spends holding the GIL.
        return PreEncodedSpanExporter(SpanEncoder().encode, **options)
    return HttpSpanExporter(**options)


def _metric_exporter(config: TelemetryConfig, choice: Exporter) -> MetricExporter:
    if choice == "console":
        return ConsoleMetricExporter()
    target = config.otlp_target("metrics")
    options = exporter_options(target, target.timeout_ms / 1000)
    if target.protocol == "grpc":
        return GrpcMetricExporter(**options)
    return HttpMetricExporter(**options)


def _log_exporter(config: TelemetryConfig, choice: Exporter) -> LogRecordExporter:
    if choice == "console":
        return ConsoleLogRecordExporter()
    target = config.otlp_target("logs")
    options = exporter_options(target, target.timeout_ms / 1000)
    if target.protocol == "grpc":
        return GrpcLogExporter(**options)
    return HttpLogExporter(**options)


def _grpc_compression(target: OtlpTarget) -> GrpcCompression:
    return GrpcCompression.Gzip if target.gzip else GrpcCompression.NoCompression


def _http_compression(target: OtlpTarget) -> HttpCompression:
    return HttpCompression.Gzip if target.gzip else HttpCompression.NoCompression
