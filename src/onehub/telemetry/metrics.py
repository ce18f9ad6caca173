"""Metric views (the semantic conventions' buckets) and Prometheus text at `/metrics`.

Prometheus scrapes a private `CollectorRegistry` per `Telemetry`, never prometheus_client's global
one, so many servers can run in one process (tests) without "Duplicated timeseries" errors.
Every family is put under the `onehub` namespace unless its name already starts with it (so the
counter `onehub.topics` is `onehub_topics_total`, not `onehub_onehub_topics_total`).

Each metric reader registered on a MeterProvider keeps its own aggregations, so every measurement
is aggregated once per reader (exemplar sampling included). With an OTLP exporter and Prometheus
both on, that doubled the cost of each histogram measurement on the request path. So when a
periodic (OTLP or console) reader exists, Prometheus scrapes collect through it instead
(`ScrapeablePeriodicReader`): one set of cumulative aggregations feeds both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import (
    Counter,
    Histogram,
    ObservableCounter,
    ObservableGauge,
    ObservableUpDownCounter,
    UpDownCounter,
)
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricExporter,
    MetricsData,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from onehub.telemetry.setup import Telemetry

PROMETHEUS_NAMESPACE: Final = "onehub"
HTTP_SERVER_REQUEST_DURATION: Final = "http.server.request.duration"
RPC_SERVER_CALL_DURATION: Final = "rpc.server.call.duration"
DB_CLIENT_OPERATION_DURATION: Final = "db.client.operation.duration"

#: The semantic conventions' advice for HTTP and RPC durations (seconds).
REQUEST_DURATION_BUCKETS: Final = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip
#: The semantic conventions' advice for database client operations (seconds).
DB_DURATION_BUCKETS: Final = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)
# Prometheus series that are not ours to rename.
_UNPREFIXED: Final = frozenset({"target_info", "otel_scope_info"})


def duration_views() -> list[View]:
    return [
        View(
            instrument_name=HTTP_SERVER_REQUEST_DURATION,
            aggregation=ExplicitBucketHistogramAggregation(REQUEST_DURATION_BUCKETS),
        ),
        View(
            instrument_name=RPC_SERVER_CALL_DURATION,
            aggregation=ExplicitBucketHistogramAggregation(REQUEST_DURATION_BUCKETS),
        ),
        View(
            instrument_name=DB_CLIENT_OPERATION_DURATION,
            aggregation=ExplicitBucketHistogramAggregation(DB_DURATION_BUCKETS),
        ),
    ]


def metrics_asgi_app(telemetry: Telemetry) -> ASGIApp:
    """An ASGI app answering any GET with the Prometheus text of `telemetry`'s metrics, collected
    at scrape time. With telemetry disabled it answers with an empty exposition."""
    if telemetry.prometheus is None:
        empty: ASGIApp = make_asgi_app(CollectorRegistry())
        return empty
    return telemetry.prometheus.asgi_app()


#: What Prometheus needs, and so what every exporter of ours is given (OTLP's default too).
CUMULATIVE: Final[dict[type, AggregationTemporality]] = {
    kind: AggregationTemporality.CUMULATIVE
    for kind in (
        Counter,
        UpDownCounter,
        Histogram,
        ObservableCounter,
        ObservableUpDownCounter,
        ObservableGauge,
    )
}


class ScrapeablePeriodicReader(PeriodicExportingMetricReader):
    """The SDK's periodic reader, whose aggregations a Prometheus scrape can also read.

    A collection asked for by `collect_for_scrape` is handed back to the caller instead of going
    to the exporter; collections of the export thread are exported as usual. Its exporter must
    be cumulative (a delta reader would hand Prometheus deltas), which is why the exporters are
    built with `CUMULATIVE`.
    """

    def __init__(
        self,
        exporter: MetricExporter,
        *,
        export_interval_millis: float,
        export_timeout_millis: float,
    ) -> None:
        super().__init__(
            exporter,
            export_interval_millis=export_interval_millis,
            export_timeout_millis=export_timeout_millis,
        )
        self._scrape = threading.local()

    def collect_for_scrape(self, timeout_millis: float = 10_000) -> MetricsData | None:
        """Collect now, in this thread, and return the data without exporting it."""
        self._scrape.active, self._scrape.data = True, None
        try:
            self.collect(timeout_millis=timeout_millis)
            data: MetricsData | None = self._scrape.data
            return data
        finally:
            self._scrape.active, self._scrape.data = False, None

    def _receive_metrics(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> None:
        if getattr(self._scrape, "active", False):
            self._scrape.data = metrics_data
            return
        super()._receive_metrics(metrics_data, timeout_millis, **kwargs)


def _scraping_through(source: ScrapeablePeriodicReader, registry: CollectorRegistry) -> None:
    """A Prometheus reader on `registry` that renders `source`'s collections.

    Scraped, the SDK's Prometheus reader calls its `collect`, which asks the collect callback a
    MeterProvider would have installed; here that callback collects through `source`. The reader
    is never registered on a MeterProvider, so it keeps no aggregations of its own.
    """
    reader = PrometheusMetricReader(registry=registry)

    def collect(_reader: object, timeout_millis: float = 10_000) -> MetricsData | None:
        return source.collect_for_scrape(timeout_millis)

    reader._set_collect_callback(collect)  # type: ignore[arg-type]  # SDK says it never returns None


class PrometheusEndpoint:
    """The Prometheus side of one process's metrics, and the private registry `/metrics` serves.

    With a `source`, scrapes read that reader's aggregations and `reader` is None; without one,
    `reader` is a Prometheus reader of its own, to register on the MeterProvider.
    """

    def __init__(self, source: ScrapeablePeriodicReader | None = None) -> None:
        self._inner = CollectorRegistry()
        self.reader: PrometheusMetricReader | None
        if source is None:
            self.reader = PrometheusMetricReader(registry=self._inner)
        else:
            _scraping_through(source, self._inner)
            self.reader = None
        self.registry = CollectorRegistry()
        self.registry.register(_Namespaced(self._inner, PROMETHEUS_NAMESPACE))

    def asgi_app(self) -> ASGIApp:
        app: ASGIApp = make_asgi_app(self.registry)
        return app


class _Namespaced(Collector):
    def __init__(self, inner: CollectorRegistry, namespace: str) -> None:
        self._inner = inner
        self._prefix = f"{namespace}_"

    def collect(self) -> Iterable[Metric]:
        return self._renamed(self._inner.collect())

    def describe(self) -> Iterable[Metric]:
        # Names are only known once the SDK has collected; describing nothing keeps
        # registration from collecting before the reader is attached to a MeterProvider.
        return ()

    def _renamed(self, families: Iterable[Metric]) -> Iterator[Metric]:
        for family in families:
            if family.name in _UNPREFIXED or family.name.startswith(self._prefix):
                yield family
                continue
            family.name = self._prefix + family.name
            family.samples = [
                sample._replace(name=self._prefix + sample.name) for sample in family.samples
            ]
            yield family
