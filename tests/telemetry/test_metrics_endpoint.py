"""Prometheus text at /metrics after a known number of calls."""

from __future__ import annotations

import contextlib
import re

import httpx
from opentelemetry import metrics, trace

from onehub.gen.onehub.v1 import users_pb2
from onehub.telemetry import metrics_asgi_app, setup_telemetry, telemetry_config_from_env
from onehub.telemetry.testing import InMemoryTelemetry

from .receiver import otlp_metrics_receiver
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


async def test_a_scrape_leaves_the_exemplars_to_the_otlp_export() -> None:
    with otlp_metrics_receiver() as (receiver, port):
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
            "OTEL_TRACES_EXPORTER": "none",
            "OTEL_LOGS_EXPORTER": "none",
        }
        telemetry = setup_telemetry(telemetry_config_from_env(env, collector=None))
        try:
            histogram = metrics.get_meter("t").create_histogram("work.duration", unit="s")
            with trace.get_tracer("t").start_as_current_span("work") as span:
                histogram.record(0.02)
            scraped = await scrape(metrics_asgi_app(telemetry))
            assert sample(scraped, "onehub_work_duration_seconds_count") == 1
        finally:
            telemetry.shutdown()  # the reader's last collection goes out over OTLP

    exemplars = [
        exemplar
        for request in receiver.requests
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "work.duration"
        for point in metric.histogram.data_points
        for exemplar in point.exemplars
    ]
    trace_id = span.get_span_context().trace_id.to_bytes(16, "big")
    assert [exemplar.trace_id for exemplar in exemplars] == [trace_id]
