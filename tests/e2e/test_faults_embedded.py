"""A fault switched on at start, seen as a person would: OneHub's real telemetry over OTLP to the
embedded collector's child process, and the finding in its query API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from onehub.app import RunningOneHub, start_onehub
from onehub.domain.faults import parse_fault
from tests.e2e.support import embedded_collector_settings


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[RunningOneHub]:
    settings = embedded_collector_settings(
        tmp_path, faults=(parse_fault("slow-downstream=1100ms"),)
    )
    env = {"OTEL_BSP_SCHEDULE_DELAY": "100", "OTEL_SERVICE_NAME": "onehub-faults-e2e"}
    running = await start_onehub(settings, env=env)
    yield running
    await running.stop()


async def _findings(viewer: httpx.AsyncClient, trace_id: str, kinds: int) -> list[Any]:
    """The trace's findings once `kinds` kinds are there (its spans arrive in batches)."""
    deadline = time.monotonic() + 20
    found: list[Any] = []
    while time.monotonic() < deadline:
        response = await viewer.get(f"/jaeger/api/x/traces/{trace_id}/findings")
        if response.status_code == 200:
            found = response.json()["data"]
            if len({f["kind"] for f in found}) >= kinds:
                return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"trace {trace_id}: findings {found}")


async def test_slow_downstream_from_the_start_is_found_in_the_embedded_viewer(
    hub: RunningOneHub,
) -> None:
    assert hub.viewer_url is not None
    async with httpx.AsyncClient(
        base_url=hub.gateway_url, auth=("admin", "admin123"), timeout=30
    ) as api:
        state = (await api.get("/admin/faults")).json()
        listed = await api.get("/api/v1/topics")
    trace_id = listed.headers["traceresponse"].split("-")[1]

    async with httpx.AsyncClient(base_url=hub.viewer_url.removesuffix("/jaeger")) as viewer:
        findings = await _findings(viewer, trace_id, kinds=2)
        trace = (await viewer.get(f"/jaeger/api/traces/{trace_id}")).json()["data"][0]

    assert state["faults"] == {"slow-downstream": "1100ms"}
    assert listed.status_code == 200
    assert sorted(f["kind"] for f in findings) == ["sequential", "slow_span"]
    spans = {s["spanID"]: s for s in trace["spans"]}
    [slow] = next(f["spanIDs"] for f in findings if f["kind"] == "slow_span")
    tags = {t["key"]: t["value"] for t in spans[slow]["tags"]}
    assert (tags["peer.service"], tags["span.kind"]) == ("directory", "client")
    events = [
        {f["key"]: f["value"] for f in log["fields"]}
        for span in trace["spans"]
        for log in span["logs"]
    ]
    assert {"event": "fault.injected", "fault.name": "slow-downstream",
            "fault.value": "1100ms"} in events  # fmt: skip
