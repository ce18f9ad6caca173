"""Each fault to find, switched on at run time through `PUT /admin/faults` of a real OneHub, is
named in its trace (event `fault.injected`) and caught by the trace findings of a real collector
(`GET /jaeger/api/x/traces/{id}/findings`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import SpanExportResult

from onehub.app import RunningOneHub, start_onehub
from onehub.config import Settings
from onehub.telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from onehub_collector import RunningCollector
from tests.findings.test_findings_corpus import _whole_traces


@pytest.fixture
async def memory() -> AsyncIterator[InMemoryTelemetry]:
    telemetry = in_memory_telemetry("onehub-faults")
    yield telemetry
    telemetry.shutdown()


@pytest.fixture
async def hub(database_url: str, memory: InMemoryTelemetry) -> AsyncIterator[RunningOneHub]:
    settings = Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        db_endpoint=database_url,
        collector="none",
        grace_seconds=1.0,
    )
    running = await start_onehub(settings, telemetry=memory.telemetry)
    yield running
    await running.stop()


@pytest.fixture
async def admin(hub: RunningOneHub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=hub.gateway_url, auth=("admin", "admin123"), timeout=30
    ) as client:
        yield client


async def _topics(admin: httpx.AsyncClient, count: int) -> list[str]:
    ids = []
    for n in range(count):
        response = await admin.post("/api/v1/topics", json={"topic": {"name": f"Topic {n}"}})
        assert response.status_code == 200, response.text
        ids.append(response.json()["topic"]["base"]["id"])
    return ids


async def _switch(admin: httpx.AsyncClient, faults: dict[str, str]) -> None:
    response = await admin.put("/admin/faults", json={"faults": faults})
    assert response.status_code == 200, response.text
    assert set(response.json()["faults"]) == set(faults)


async def _stored_trace(
    response: httpx.Response, memory: InMemoryTelemetry, collector: RunningCollector
) -> str:
    trace_id = response.headers["traceresponse"].split("-")[1]
    spans = await _whole_traces(memory, {trace_id})
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces")
    try:
        assert await asyncio.to_thread(exporter.export, spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated
    await collector.flush()
    return trace_id


async def _query(api: httpx.AsyncClient, trace_id: str) -> tuple[dict[str, Any], list[Any]]:
    """The trace's spans by id (Jaeger shape) and its findings, from the query API."""
    trace = await api.get(f"/jaeger/api/traces/{trace_id}")
    assert trace.status_code == 200, trace.text
    spans = {s["spanID"]: s for s in trace.json()["data"][0]["spans"]}
    findings = await api.get(f"/jaeger/api/x/traces/{trace_id}/findings")
    assert findings.status_code == 200, findings.text
    return spans, findings.json()["data"]


def _tags(span: dict[str, Any]) -> dict[str, Any]:
    return {t["key"]: t["value"] for t in span["tags"]}


def _fault_events(spans: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(span name, event fields) of every `fault.injected` event in the trace."""
    found = []
    for span in spans.values():
        for log in span["logs"]:
            fields = {f["key"]: f["value"] for f in log["fields"]}
            if fields.get("event") == "fault.injected":
                found.append((span["operationName"], fields))
    return found


def _kinds(findings: list[Any]) -> list[str]:
    return sorted(f["kind"] for f in findings)


async def test_db_latency_is_a_slow_statement_on_the_critical_path(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    memory: InMemoryTelemetry,
    collector: RunningCollector,
    api: httpx.AsyncClient,
) -> None:
    [topic] = await _topics(admin, 1)
    await _switch(admin, {"db-latency": "1100ms@1"})

    response = await admin.get(f"/api/v1/topics/{topic}")

    assert response.status_code == 200
    assert response.elapsed.total_seconds() >= 1.1
    spans, findings = await _query(api, await _stored_trace(response, memory, collector))
    assert ("db.GetTopic", {"event": "fault.injected", "fault.name": "db-latency",
                            "fault.value": "1100ms"}) in _fault_events(spans)  # fmt: skip
    assert _kinds(findings) == ["slow_span"]
    [slow] = findings[0]["spanIDs"]
    statement = str(_tags(spans[slow]).get("db.query.text", ""))
    assert "fault.injected: db-latency" in statement, spans[slow]
    assert spans[slow]["duration"] >= 1_100_000


async def test_rpc_errors_fail_the_request_with_an_error_trace_not_a_swallowed_one(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    memory: InMemoryTelemetry,
    collector: RunningCollector,
    api: httpx.AsyncClient,
) -> None:
    [topic] = await _topics(admin, 1)
    await _switch(admin, {"rpc-errors": "GetTopic"})

    response = await admin.get(f"/api/v1/topics/{topic}")
    listed = await admin.get("/api/v1/topics")

    assert response.status_code == 503
    assert "fault injected: rpc-errors=GetTopic" in response.json()["message"]
    assert listed.status_code == 200  # another RPC is untouched
    spans, findings = await _query(api, await _stored_trace(response, memory, collector))
    assert [name for name, _ in _fault_events(spans)] == ["GetTopic"]
    # The error reaches the client: every span from the service method up to the HTTP root
    # is an error, so the trace is an error trace, and no finding claims it was swallowed.
    failed = {s["operationName"] for s in spans.values() if _tags(s).get("error") is True}
    root = next(s for s in spans.values() if not s["references"])
    assert {"GetTopic", "onehub.v1.TopicService/GetTopic", root["operationName"]} <= failed
    assert _tags(root).get("http.response.status_code") == 503
    assert findings == []
    for tags in ('{"error":"true"}', '{"fault.name":"rpc-errors"}'):
        search = await api.get(
            "/jaeger/api/traces", params={"service": "onehub-faults", "tags": tags}
        )
        assert [t["traceID"] for t in search.json()["data"]] == [root["traceID"]], tags


async def test_n_plus_one_is_one_query_per_listed_topic(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    memory: InMemoryTelemetry,
    collector: RunningCollector,
    api: httpx.AsyncClient,
) -> None:
    topics = await _topics(admin, 6)
    await _switch(admin, {"n-plus-one": ""})

    response = await admin.get("/api/v1/topics")

    assert response.status_code == 200
    assert sorted(t["base"]["id"] for t in response.json()["topics"]) == sorted(topics)
    spans, findings = await _query(api, await _stored_trace(response, memory, collector))
    assert [name for name, _ in _fault_events(spans)] == ["ListTopics"]
    assert _kinds(findings) == ["n_plus_one"]
    repeated = [spans[span_id] for span_id in findings[0]["spanIDs"]]
    assert len(repeated) == 6
    assert {s["operationName"] for s in repeated} == {"db.GetTopic"}


async def test_slow_downstream_is_a_slow_client_call_made_sequentially(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    memory: InMemoryTelemetry,
    collector: RunningCollector,
    api: httpx.AsyncClient,
) -> None:
    [topic] = await _topics(admin, 1)
    await _switch(admin, {"slow-downstream": "1200ms"})

    response = await admin.get(f"/api/v1/topics/{topic}")

    assert response.status_code == 200
    spans, findings = await _query(api, await _stored_trace(response, memory, collector))
    assert [name for name, _ in _fault_events(spans)] == ["GetTopic"]
    assert _kinds(findings) == ["sequential", "slow_span"]
    by_kind = {f["kind"]: f["spanIDs"] for f in findings}
    [slow] = by_kind["slow_span"]
    assert _tags(spans[slow])["peer.service"] == "directory"
    assert _tags(spans[slow])["span.kind"] == "client"
    assert spans[slow]["duration"] >= 1_200_000
    called = [_tags(spans[s])["peer.service"] for s in by_kind["sequential"]]
    assert called == ["directory", "recommendations"]


async def test_switched_off_again_the_same_request_is_clean(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    memory: InMemoryTelemetry,
    collector: RunningCollector,
    api: httpx.AsyncClient,
) -> None:
    await _topics(admin, 6)
    await _switch(admin, {"n-plus-one": "", "slow-downstream": "1200ms"})
    await _switch(admin, {})

    response = await admin.get("/api/v1/topics")

    assert response.status_code == 200
    spans, findings = await _query(api, await _stored_trace(response, memory, collector))
    assert _fault_events(spans) == []
    assert findings == []
