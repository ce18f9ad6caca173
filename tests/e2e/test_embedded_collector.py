"""`onehub serve`'s default: the embedded collector in a child process receives OneHub's own
telemetry over OTLP, and the first request's trace can be found and opened in its query API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from onehub.app import RunningOneHub, start_onehub
from tests.e2e.support import embedded_collector_settings


@pytest.fixture
async def hub_with_collector(tmp_path: Path) -> AsyncIterator[RunningOneHub]:
    settings = embedded_collector_settings(tmp_path)
    # Real telemetry, exported over OTLP/gRPC to the child; a short batch delay for the test.
    env = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "onehub-e2e"}
    running = await start_onehub(settings, env=env)
    yield running
    await running.stop()


async def _find_trace(client: httpx.AsyncClient, trace_id: str) -> dict[str, object]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        response = await client.get(f"/jaeger/api/traces/{trace_id}")
        if response.status_code == 200:
            trace: dict[str, object] = response.json()["data"][0]
            if len(trace["spans"]) >= 6:  # type: ignore[arg-type]
                return trace
        await asyncio.sleep(0.2)
    raise AssertionError(f"trace {trace_id} never reached the embedded collector")


async def test_first_request_trace_is_in_the_viewer(hub_with_collector: RunningOneHub) -> None:
    hub = hub_with_collector
    assert hub.collector is not None
    assert hub.viewer_url is not None
    async with httpx.AsyncClient(base_url=hub.gateway_url, auth=("admin", "admin123")) as api:
        created = await api.post("/api/v1/topics", json={"topic": {"name": "first"}})
        assert created.status_code == 200
        listed = await api.get("/api/v1/topics")
    trace_id = listed.headers["traceresponse"].split("-")[1]

    base = hub.viewer_url.removesuffix("/jaeger")
    async with httpx.AsyncClient(base_url=base) as viewer:
        trace = await _find_trace(viewer, trace_id)
        names = {span["operationName"] for span in trace["spans"]}  # type: ignore[attr-defined]
        assert {
            "gateway GET /v1/topics",
            "onehub.v1.TopicService/ListTopics",
            "ListTopics",
            "db.ListTopics",
        } <= names
        services = (await viewer.get("/jaeger/api/services")).json()["data"]
        assert "onehub-e2e" in services
        page = await viewer.get(f"/jaeger/trace/{trace_id}")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
