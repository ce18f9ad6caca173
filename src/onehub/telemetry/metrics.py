"""Metric views (the semantic conventions' buckets) and Prometheus text at `/metrics`.

Prometheus scrapes a private `CollectorRegistry` per `Telemetry`, never prometheus_client's global
one, so many servers can run in one process (tests) without "Duplicated timeseries" errors.
Every family is put under the `onehub` namespace unless its name already starts with it (so the
counter `onehub.topics` is `onehub_topics_total`, not `onehub_onehub_topics_total`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Final

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.semconv._incubating.metrics import rpc_metrics
from opentelemetry.semconv.metrics import db_metrics, http_metrics
from prometheus_client import CollectorRegistry, make_asgi_app
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp

if TYPE_CHECKING:
    from onehub.telemetry.setup import Telemetry

PROMETHEUS_NAMESPACE: Final = "onehub"
HTTP_SERVER_REQUEST_DURATION: Final = http_metrics.HTTP_SERVER_REQUEST_DURATION
# No stable RPC conventions yet: the incubating name.
RPC_SERVER_CALL_DURATION: Final = rpc_metrics.RPC_SERVER_CALL_DURATION
DB_CLIENT_OPERATION_DURATION: Final = db_metrics.DB_CLIENT_OPERATION_DURATION

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


class PrometheusEndpoint:
    """A metric reader plus the private registry its `/metrics` app serves."""

    def __init__(self) -> None:
        self._inner = CollectorRegistry()
        self.reader = PrometheusMetricReader(registry=self._inner)
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
