"""The findings against a labelled corpus: the real OneHub's ordinary traffic, exported by the
OpenTelemetry SDK over OTLP/HTTP to a real collector, must carry no finding; injected problems,
sent to the same receiver, must each be found on the right spans; near misses must not be.

Precision and recall over the whole corpus are printed; run with `-s` to see them, e.g.
`findings corpus (sqlite): 41 traces, precision 1.000, recall 1.000`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult

from collector_tests.conftest import Send, now_us
from collector_tests.otlp_builders import traces_request
from onehub.app import start_onehub
from onehub.config import Settings
from onehub.telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from onehub_collector import RunningCollector
from tests.findings.corpus import drive_ordinary_traffic, injected_cases


async def _whole_traces(memory: InMemoryTelemetry, trace_ids: set[str]) -> list[ReadableSpan]:
    """The spans of these traces once each is whole: its root ended, and every span's local
    parent too (a gRPC server span ends after the client has its answer)."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        spans = [s for s in memory.spans() if format(s.context.trace_id, "032x") in trace_ids]
        ended = {s.context.span_id for s in spans}
        rooted = {format(s.context.trace_id, "032x") for s in spans if s.parent is None}
        waiting = [
            s.name
            for s in spans
            if s.parent is not None and not s.parent.is_remote and s.parent.span_id not in ended
        ]
        if rooted == trace_ids and not waiting:
            return list(spans)
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"traces incomplete: {waiting or trace_ids - rooted}")
        await asyncio.sleep(0.02)


async def _ordinary_trace_ids(database_url: str, collector: RunningCollector) -> dict[str, int]:
    memory = in_memory_telemetry("onehub-corpus")
    settings = Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        db_endpoint=database_url,
        collector="none",
        grace_seconds=1.0,
    )
    hub = await start_onehub(settings, telemetry=memory.telemetry)
    try:
        statuses = await drive_ordinary_traffic(hub.gateway_url)
        spans = await _whole_traces(memory, set(statuses))
    finally:
        await hub.stop()
        memory.shutdown()
    exporter = OTLPSpanExporter(endpoint=f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces")
    try:
        assert await asyncio.to_thread(exporter.export, spans) == SpanExportResult.SUCCESS
    finally:
        exporter.shutdown()  # type: ignore[no-untyped-call]  # the SDK leaves it unannotated
    await collector.flush()
    return statuses


async def _findings(api: httpx.AsyncClient, trace_id: str) -> list[dict[str, object]]:
    response = await api.get(f"/jaeger/api/x/traces/{trace_id}/findings")
    assert response.status_code == 200, response.text
    found: list[dict[str, object]] = response.json()["data"]
    return found


def _kinds(findings: Sequence[dict[str, object]]) -> set[str]:
    return {str(f["kind"]) for f in findings}


async def test_findings_corpus_precision_and_recall(
    database_url: str,
    collector: RunningCollector,
    api: httpx.AsyncClient,
    send: Send,
    capsys: pytest.CaptureFixture[str],
) -> None:
    statuses = await _ordinary_trace_ids(database_url, collector)
    # The corpus holds the everyday answers: successes and the expected 4xx.
    assert {200, 401, 404, 409} <= set(statuses.values())
    cases = injected_cases(now_us() - 600_000_000)
    await send("traces", traces_request([s for case in cases for s in case.spans]))

    true_positive = false_positive = false_negative = 0
    wrong: list[str] = []
    for trace_id, status in statuses.items():
        found = await _findings(api, trace_id)
        false_positive += len(_kinds(found))
        if found:
            wrong.append(f"ordinary trace ({status}) {trace_id}: {found}")
    for case in cases:
        found = await _findings(api, case.trace_id.hex())
        expected = {kind for kind, _ in case.expected}
        true_positive += len(_kinds(found) & expected)
        false_positive += len(_kinds(found) - expected)
        false_negative += len(expected - _kinds(found))
        if _kinds(found) != expected:
            wrong.append(f"{case.name}: expected {sorted(expected)}, found {found}")
        for kind, span_ids in case.expected:
            spans = [f["spanIDs"] for f in found if f["kind"] == kind]
            if [s.hex() for s in span_ids] not in spans:
                wrong.append(f"{case.name}: {kind} expected on other spans than {spans}")
    precision = true_positive / max(1, true_positive + false_positive)
    recall = true_positive / max(1, true_positive + false_negative)
    backend = database_url.split(":", 1)[0]
    with capsys.disabled():
        print(
            f"\nfindings corpus ({backend}): {len(statuses)} ordinary traces, {len(cases)}"
            f" injected ({true_positive + false_negative} problems), precision {precision:.3f},"
            f" recall {recall:.3f}"
        )
    assert wrong == []
    assert false_positive == 0
    assert precision == 1.0
    assert recall == 1.0
