"""`--gateway-dispatch in-process` through the real, composed stack: the gateway calls the
servicers in this process, and a user sees the same answers, errors and trace (less the hop's
CLIENT span) as over the network hop; docs/telemetry.md, "The span tree of a REST call"."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from onehub.app import RunningOneHub, start_onehub
from onehub.config import Settings
from onehub.telemetry.testing import InMemoryTelemetry

from .test_traces import _by_name, _chain, _trace_id, _trace_of, _tree


@pytest.fixture
async def hub(database_url: str, telemetry: InMemoryTelemetry) -> AsyncIterator[RunningOneHub]:
    settings = Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        db_endpoint=database_url,
        collector="none",
        grace_seconds=1.0,
        gateway_dispatch="in-process",
    )
    running = await start_onehub(settings, telemetry=telemetry.telemetry)
    yield running
    await running.stop()


async def test_get_topic_is_one_trace_without_the_hops_client_span(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    created = await api.post("/v1/topics", json={"topic": {"name": "t"}})
    topic_id = created.json()["topic"]["base"]["id"]
    telemetry.clear()
    response = await api.get(f"/api/v1/topics/{topic_id}")
    assert response.status_code == 200
    assert response.json()["topic"]["name"] == "t"

    spans = await _trace_of(telemetry, _trace_id(response))
    chain = _chain(_tree(spans))
    assert chain[:4] == [
        ("gateway GET /v1/topics/{id}", SpanKind.SERVER),
        ("onehub.v1.TopicService/GetTopic", SpanKind.SERVER),
        ("GetTopic", SpanKind.INTERNAL),
        ("db.GetTopic", SpanKind.INTERNAL),
    ]
    statement_name, statement_kind = chain[4]
    assert (statement_kind, statement_name.split()[0]) == (SpanKind.CLIENT, "SELECT")
    assert not [s for s in spans if s.kind == SpanKind.CLIENT and s.name.startswith("onehub")]
    server = _by_name(spans, "onehub.v1.TopicService/GetTopic")
    assert server.attributes is not None
    assert server.attributes["rpc.method"] == "onehub.v1.TopicService/GetTopic"
    assert server.attributes["rpc.status_code"] == "OK"
    assert server.attributes["enduser.id"] == "admin"
    assert telemetry.metrics()["rpc.server.call.duration"].data.data_points  # type: ignore[union-attr]


async def test_not_found_maps_to_404_and_stays_off_the_server_spans_status(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    telemetry.clear()
    response = await api.get("/v1/topics/nope")
    assert response.status_code == 404
    assert response.json()["code"] == 5
    assert response.json()["traceId"] == _trace_id(response)
    spans = await _trace_of(telemetry, _trace_id(response))
    server = _by_name(spans, "onehub.v1.TopicService/GetTopic")
    assert server.attributes is not None
    assert server.attributes["rpc.status_code"] == "NOT_FOUND"
    assert server.status.status_code != StatusCode.ERROR
    assert _by_name(spans, "gateway GET /v1/topics/{id}").status.status_code != StatusCode.ERROR


async def test_wrong_credentials_are_401_before_any_service_runs(
    hub: RunningOneHub, telemetry: InMemoryTelemetry
) -> None:
    telemetry.clear()
    async with httpx.AsyncClient(base_url=hub.gateway_url, auth=("admin", "wrong")) as intruder:
        response = await intruder.get("/v1/topics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    spans = await _trace_of(telemetry, _trace_id(response))
    names = {s.name for s in spans}
    assert "onehub.v1.TopicService/ListTopics" in names
    assert "ListTopics" not in names


async def test_bad_input_is_the_services_400(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/topics", json={"topic": {"name": ""}})
    assert response.status_code == 400
    assert response.json()["code"] == 3
