"""Prometheus text at /metrics after a known number of calls."""

from __future__ import annotations

import contextlib
import math
import re

import httpx
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    MetricExporter,
    MetricExportResult,
    MetricsData,
)

from onehub.gen.onehub.v1 import users_pb2
from onehub.telemetry import metrics_asgi_app, setup_telemetry, telemetry_config_from_env
from onehub.telemetry.metrics import CUMULATIVE, PrometheusEndpoint, ScrapeablePeriodicReader
from onehub.telemetry.testing import InMemoryTelemetry

from .support import UserServer, finished_spans


async def scrape(app: object) -> str:
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # any ASGI callable
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of the one series called `name` whose labels include `labels`."""
    values = []
    for line in text.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and all(f'{key}="{value}"' in match.group(1) for key, value in labels.items()):
            values.append(float(match.group(2)))
    assert len(values) == 1, f"{name} {labels}: {values}"
    return values[0]


async def test_metrics_after_known_calls(
    user_server: UserServer, memory: InMemoryTelemetry
) -> None:
    topics = metrics.get_meter("onehub.services").create_counter("onehub.topics", unit="{topic}")
    for user_id in ("a", "b", "c", "missing"):
        with contextlib.suppress(Exception):
            await user_server.stub.GetUser(users_pb2.GetUserRequest(id=user_id))
    topics.add(2)
    await finished_spans(memory, 3 * 3 + 2)

    text = await scrape(metrics_asgi_app(memory.telemetry))

    method = "onehub.v1.UserService/GetUser"
    duration = "onehub_rpc_server_call_duration_seconds_count"
    assert sample(text, duration, rpc_method=method, rpc_status_code="OK") == 3
    assert sample(text, duration, rpc_method=method, rpc_status_code="NOT_FOUND") == 1
    assert sample(text, "onehub_topics_total") == 2
    assert 'le="0.005"' in text
    assert "onehub_onehub_" not in text
    assert "target_info" in text


async def test_each_telemetry_serves_only_its_own_metrics(memory: InMemoryTelemetry) -> None:
    metrics.get_meter("t").create_counter("onehub.users").add(1)
    other = setup_telemetry(telemetry_config_from_env({}, collector="none"))
    try:
        metrics.get_meter("t").create_counter("onehub.messages").add(4)

        mine, theirs = (
            await scrape(metrics_asgi_app(memory.telemetry)),
            await scrape(metrics_asgi_app(other)),
        )
    finally:
        other.shutdown()

    assert "onehub_users_total" in mine
    assert "onehub_messages_total" not in mine
    assert sample(theirs, "onehub_messages_total") == 4


async def test_disabled_telemetry_serves_an_empty_exposition() -> None:
    disabled = setup_telemetry(
        telemetry_config_from_env({"OTEL_SDK_DISABLED": "true"}, collector=None)
    )

    assert (await scrape(metrics_asgi_app(disabled))).strip() == ""


class RecordingExporter(MetricExporter):
    """A metric exporter keeping what it was given."""

    def __init__(self) -> None:
        super().__init__(preferred_temporality=CUMULATIVE)
        self.exports: list[MetricsData] = []

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: object
    ) -> MetricExportResult:
        self.exports.append(metrics_data)
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: object) -> None:
        pass


def exported_count(data: MetricsData, name: str) -> int:
    counts = [
        point.count
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    ]
    assert len(counts) == 1, counts
    return counts[0]


async def test_scrapes_and_exports_read_one_set_of_aggregations() -> None:
    exporter = RecordingExporter()
    reader = ScrapeablePeriodicReader(
        exporter, export_interval_millis=math.inf, export_timeout_millis=1000
    )
    endpoint = PrometheusEndpoint(reader)
    provider = MeterProvider(metric_readers=[reader], shutdown_on_exit=False)
    try:
        duration = provider.get_meter("t").create_histogram("work.duration", unit="s")
        for _ in range(3):
            duration.record(0.01, {"kind": "a"})

        first = await scrape(endpoint.asgi_app())
        assert sample(first, "onehub_work_duration_seconds_count", kind="a") == 3
        assert exporter.exports == [], "a scrape must not export over OTLP"

        reader.collect()  # what the export thread does every interval
        assert [exported_count(data, "work.duration") for data in exporter.exports] == [3]

        duration.record(0.02, {"kind": "a"})
        second = await scrape(endpoint.asgi_app())
        assert sample(second, "onehub_work_duration_seconds_count", kind="a") == 4, "cumulative"
        assert len(exporter.exports) == 1
    finally:
        provider.shutdown()


async def test_prometheus_follows_the_exported_metrics_of_a_configured_process() -> None:
    telemetry = setup_telemetry(
        telemetry_config_from_env({"OTEL_METRICS_EXPORTER": "console"}, collector="none")
    )
    try:
        metrics.get_meter("t").create_counter("onehub.messages").add(5)
        text = await scrape(metrics_asgi_app(telemetry))
    finally:
        telemetry.shutdown()
    assert sample(text, "onehub_messages_total") == 5
