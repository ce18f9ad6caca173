"""RED metrics after a known number of requests, in OTLP form and as Prometheus text."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx

from onehub.app import RunningOneHub
from onehub.telemetry.testing import InMemoryTelemetry


def _points(telemetry: InMemoryTelemetry, name: str) -> list[Any]:
    metric = telemetry.metrics()[name]
    return list(metric.data.data_points)  # type: ignore[union-attr]


RpcKey = tuple[str, str]


async def _rpc_durations_once(
    telemetry: InMemoryTelemetry, ready: Callable[[dict[RpcKey, Any]], bool]
) -> dict[RpcKey, Any]:
    """rpc.server.call.duration points by (method, status), once `ready` holds (at most 5 s)."""
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        found = {
            (p.attributes["rpc.method"], p.attributes["rpc.status_code"]): p
            for p in _points(telemetry, "rpc.server.call.duration")
        }
        if ready(found) or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.01)


async def test_red_metrics_count_each_request(
    hub: RunningOneHub, api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    for _ in range(3):
        assert (await api.get("/api/v1/topics")).status_code == 200
    assert (await api.get("/v1/topics/missing")).status_code == 404

    http = {
        (p.attributes.get("http.route"), p.attributes["http.response.status_code"]): p
        for p in _points(telemetry, "http.server.request.duration")
    }
    assert http[("/v1/topics", 200)].count == 3
    assert http[("/v1/topics/{id}", 404)].count == 1
    for point in http.values():
        assert "url.path" not in point.attributes, "raw paths would explode cardinality"
        assert point.sum > 0

    # An aborted call's status is on the wire before the server interceptor records its
    # duration, so the 404 can reach the client first: wait for the server side to finish.
    rpc = await _rpc_durations_once(
        telemetry, lambda found: ("onehub.v1.TopicService/GetTopic", "NOT_FOUND") in found
    )
    assert rpc[("onehub.v1.TopicService/ListTopics", "OK")].count == 3
    assert rpc[("onehub.v1.TopicService/GetTopic", "NOT_FOUND")].count == 1

    db = _points(telemetry, "db.client.operation.duration")
    assert sum(p.count for p in db if p.attributes.get("db.operation.name") == "SELECT") >= 4

    text = (await api.get("/metrics")).text
    assert "onehub_http_server_request_duration" in text
    assert "onehub_rpc_server_call_duration" in text
    assert 'http_route="/v1/topics"' in text
    assert "missing" not in text
