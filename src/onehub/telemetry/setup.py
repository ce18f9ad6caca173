"""`setup_telemetry`: the tracer, meter and logger providers of one OneHub process.

Nothing happens at import. `setup_telemetry` builds the SDK providers, points the process's
global providers at them (see `global_providers`), and installs the W3C TraceContext + Baggage
propagators. It opens no connection and never waits on a collector. `Telemetry.shutdown` flushes
and stops all three signals within a bounded time and may be called any number of times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from importlib.metadata import entry_points

from opentelemetry import propagate
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.metrics import NoOpMeterProvider as ApiNoOpMeterProvider
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.sdk._logs import LoggerProvider, LogRecordProcessor
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider, TraceBasedExemplarFilter
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import NoOpTracerProvider

from onehub.telemetry import global_providers
from onehub.telemetry.config import TelemetryConfig
from onehub.telemetry.exporters import (
    log_exporters,
    metric_exporters,
    span_export_timeout_s,
    span_exporters,
)
from onehub.telemetry.metrics import PrometheusEndpoint, duration_views
from onehub.telemetry.processor import BoundedBatchSpanProcessor
from onehub.telemetry.resource import build_resource

_log = logging.getLogger("onehub.telemetry")
DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0


class Telemetry:
    """The providers of one process. Build with `setup_telemetry`.

    When `disabled` (OTEL_SDK_DISABLED=true) the providers are None, the global providers are
    no-op, and every span or measurement through the API costs next to nothing.
    """

    def __init__(
        self,
        config: TelemetryConfig,
        *,
        resource: Resource | None = None,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
        span_queues: Sequence[BoundedBatchSpanProcessor] = (),
        prometheus: PrometheusEndpoint | None = None,
    ) -> None:
        self.config = config
        self.resource = resource
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.logger_provider = logger_provider
        self.prometheus = prometheus
        self._span_queues = tuple(span_queues)
        self._shutdown_lock = threading.Lock()
        self._shut_down = False

    @property
    def disabled(self) -> bool:
        return self.tracer_provider is None

    @property
    def span_queues(self) -> tuple[BoundedBatchSpanProcessor, ...]:
        """One export queue per configured span exporter (their counters: dropped, queued...)."""
        return self._span_queues

    @property
    def dropped_spans(self) -> int:
        """Spans that never reached a receiver since start (queue full or export failed)."""
        return sum(queue.dropped for queue in self._span_queues)

    def shutdown(self, timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S) -> None:
        """Flush and stop traces, metrics and logs, in parallel, giving up after `timeout_s`.

        Idempotent. Telemetry still unexported at the deadline is lost (a stalled collector
        must not hold the process); the process's global providers fall back to no-op.
        """
        with self._shutdown_lock:
            if self._shut_down:
                return
            self._shut_down = True
        if global_providers.TRACER_PROVIDER.target is self.tracer_provider:
            global_providers.TRACER_PROVIDER.switch_to(NoOpTracerProvider())
        if global_providers.METER_PROVIDER.target is self.meter_provider:
            global_providers.METER_PROVIDER.switch_to(ApiNoOpMeterProvider())
        timeout_ms = int(timeout_s * 1000)
        steps: list[Callable[[], object]] = []
        if self.tracer_provider is not None:
            steps.append(lambda: self._shutdown_traces(timeout_ms))
        if self.meter_provider is not None:
            meter_provider = self.meter_provider
            steps.append(lambda: meter_provider.shutdown(timeout_millis=timeout_ms))
        if self.logger_provider is not None:
            steps.append(self.logger_provider.shutdown)
        _run_with_deadline(steps, timeout_s)

    def _shutdown_traces(self, timeout_ms: int) -> None:
        for queue in self._span_queues:
            queue.shutdown(timeout_millis=timeout_ms)
        assert self.tracer_provider is not None
        self.tracer_provider.shutdown()


def setup_telemetry(
    config: TelemetryConfig,
    *,
    span_processors: Iterable[SpanProcessor] = (),
    metric_readers: Iterable[MetricReader] = (),
    log_processors: Iterable[LogRecordProcessor] = (),
) -> Telemetry:
    """Build the providers `config` asks for and make them the process's global ones.

    The extra processors and readers are added beside the configured exporters (tests pass the
    SDK's in-memory ones). A previous Telemetry stays usable for its own shutdown, but the
    globals now point here. Never blocks on the network.
    """
    propagate.set_global_textmap(CompositePropagator(_propagators(config)))
    global_providers.install()
    if config.disabled:
        global_providers.TRACER_PROVIDER.switch_to(NoOpTracerProvider())
        global_providers.METER_PROVIDER.switch_to(ApiNoOpMeterProvider())
        return Telemetry(config)

    resource = build_resource(config)
    queues = [
        BoundedBatchSpanProcessor(
            exporter,
            max_queue_size=config.batch.max_queue_size,
            max_export_batch_size=config.batch.max_export_batch_size,
            schedule_delay_s=config.batch.schedule_delay_ms / 1000,
            drop_warning_interval_s=config.drop_warning_interval_s,
            target=config.otlp_target("traces").url,
        )
        for exporter in span_exporters(config)
    ]
    tracer_provider = TracerProvider(
        resource=resource, sampler=_sampler(config), shutdown_on_exit=False
    )
    for processor in [*queues, *span_processors]:
        tracer_provider.add_span_processor(processor)

    prometheus = PrometheusEndpoint() if config.prometheus else None
    readers: list[MetricReader] = [
        PeriodicExportingMetricReader(
            exporter,
            export_interval_millis=config.metric_export_interval_ms,
            export_timeout_millis=config.otlp_target("metrics").timeout_ms,
        )
        for exporter in metric_exporters(config)
    ]
    if prometheus is not None:
        readers.append(prometheus.reader)
    readers.extend(metric_readers)
    meter_provider = MeterProvider(
        metric_readers=readers,
        resource=resource,
        views=duration_views(),
        exemplar_filter=TraceBasedExemplarFilter(),
        # Shutdown is ours (bounded, in Telemetry.shutdown): an atexit hook per provider would
        # pile up across the many short-lived Telemetry objects of a test run.
        shutdown_on_exit=False,
    )

    logger_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
    for log_exporter in log_exporters(config):
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(
                log_exporter,
                schedule_delay_millis=config.batch.schedule_delay_ms,
                max_export_batch_size=config.batch.max_export_batch_size,
                export_timeout_millis=span_export_timeout_s(config, "logs") * 1000,
                max_queue_size=config.batch.max_queue_size,
            )
        )
    for log_processor in log_processors:
        logger_provider.add_log_record_processor(log_processor)

    telemetry = Telemetry(
        config,
        resource=resource,
        tracer_provider=tracer_provider,
        meter_provider=meter_provider,
        logger_provider=logger_provider,
        span_queues=queues,
        prometheus=prometheus,
    )
    _observe_dropped_spans(telemetry, meter_provider)
    global_providers.TRACER_PROVIDER.switch_to(tracer_provider)
    global_providers.METER_PROVIDER.switch_to(meter_provider)
    return telemetry


def _propagators(config: TelemetryConfig) -> list[TextMapPropagator]:
    """OTEL_PROPAGATORS's formats, from the entry points their packages register (the names
    were checked when the config was read)."""
    registered = {point.name: point for point in entry_points(group="opentelemetry_propagator")}
    return [registered[name].load()() for name in config.propagators]


def _sampler(config: TelemetryConfig) -> Sampler:
    ratio = TraceIdRatioBased(config.sampler_ratio)
    roots: dict[str, Sampler] = {
        "always_on": ALWAYS_ON,
        "always_off": ALWAYS_OFF,
        "traceidratio": ratio,
    }
    name = config.sampler
    if name.startswith("parentbased_"):
        return ParentBased(roots[name.removeprefix("parentbased_")])
    return roots[name]


def _observe_dropped_spans(telemetry: Telemetry, meter_provider: MeterProvider) -> None:
    def observe(_options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(telemetry.dropped_spans)]

    meter_provider.get_meter("onehub.telemetry").create_observable_counter(
        "onehub.telemetry.spans.dropped",
        callbacks=[observe],
        unit="{span}",
        description="Spans that never reached the collector (queue full or export failed)",
    )


def _run_with_deadline(steps: Sequence[Callable[[], object]], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s

    def run(step: Callable[[], object]) -> None:
        try:
            step()
        except Exception:  # one signal failing to flush must not stop the others
            _log.exception("telemetry shutdown step failed")

    threads = [threading.Thread(target=run, args=(step,), daemon=True) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        _log.warning("telemetry shutdown gave up after %.1f s; unexported data is lost", timeout_s)
