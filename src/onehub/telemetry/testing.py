"""In-memory telemetry for tests: everything a OneHub process would export, kept in lists.

`in_memory_telemetry()` returns a live Telemetry (global providers pointed at it) whose spans
are exported synchronously as they end, whose metrics are read on demand, and whose logs are kept;
nothing leaves the process. Call `shutdown()` when done (a fixture's teardown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, Metric
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from onehub.telemetry.config import TelemetryConfig
from onehub.telemetry.setup import Telemetry, setup_telemetry


@dataclass(frozen=True)
class InMemoryTelemetry:
    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    log_exporter: InMemoryLogRecordExporter

    def spans(self) -> Sequence[ReadableSpan]:
        """Finished spans, in the order they ended."""
        return self.span_exporter.get_finished_spans()

    def metrics(self) -> Mapping[str, Metric]:
        """Every metric recorded so far (cumulative), by instrument name."""
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return {}
        return {
            metric.name: metric
            for resource_metrics in data.resource_metrics
            for scope_metrics in resource_metrics.scope_metrics
            for metric in scope_metrics.metrics
        }

    def logs(self) -> Sequence[ReadableLogRecord]:
        return self.log_exporter.get_finished_logs()

    def clear(self) -> None:
        self.span_exporter.clear()
        self.log_exporter.clear()

    def shutdown(self) -> None:
        self.telemetry.shutdown()


def in_memory_telemetry(service_name: str = "onehub-test") -> InMemoryTelemetry:
    """A Telemetry that exports nowhere but to memory (no OTLP, no console)."""
    config = TelemetryConfig(
        service_name=service_name,
        traces_exporters=(),
        metrics_exporters=(),
        logs_exporters=(),
    )
    spans = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    logs = InMemoryLogRecordExporter()  # type: ignore[no-untyped-call]  # contrib/SDK leave it unannotated
    telemetry = setup_telemetry(
        config,
        span_processors=[SimpleSpanProcessor(spans)],
        metric_readers=[reader],
        log_processors=[SimpleLogRecordProcessor(logs)],
    )
    return InMemoryTelemetry(telemetry, spans, reader, logs)
