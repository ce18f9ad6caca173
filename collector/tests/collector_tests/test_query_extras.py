"""The viewer's endpoints beyond Jaeger: statistics, findings, a trace's logs, the live tail
and the one-file HTML export."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from collector_tests.conftest import Send, now_us
from collector_tests.dataset import MS, STATEMENT, Dataset
from collector_tests.otlp_builders import ERROR, SERVER, SpanSpec, new_trace_id, traces_request
from onehub_collector.store.writer import StoredRoot
from onehub_collector.tail import TailHub, TooManySubscribersError


async def test_stats_per_operation(api: httpx.AsyncClient, data: Dataset) -> None:
    body = (await api.get("/jaeger/api/x/stats?service=api&lookback=3600000")).json()
    rows = {row["operation"]: row for row in body["data"]}
    assert set(rows) == {"GET /cart", "GET /slow", "SELECT items", "call pricing", "call stock"}
    selects = rows["SELECT items"]
    assert selects == {
        "service": "api",
        "operation": "SELECT items",
        "spanKind": "client",
        "count": 6,
        "ratePerSec": 6 / 3600,
        "errorCount": 0,
        "errorRatio": 0.0,
        "p50": 1 * MS,
        "p95": 1 * MS,
        "p99": 1 * MS,
    }
    slow = rows["GET /slow"]
    assert (slow["errorCount"], slow["errorRatio"], slow["p99"]) == (1, 1.0, 2000 * MS)
    everyone = (await api.get("/jaeger/api/x/stats?lookback=3600000")).json()["data"]
    assert {row["service"] for row in everyone} == {"api", "pricing"}
    bad = await api.get("/jaeger/api/x/stats?lookback=-5")
    assert bad.status_code == 400


async def test_findings_on_a_constructed_trace(api: httpx.AsyncClient, data: Dataset) -> None:
    body = (await api.get(f"/jaeger/api/x/traces/{data.cart.hex()}/findings")).json()
    by_kind = {finding["kind"]: finding for finding in body["data"]}
    assert set(by_kind) == {"n_plus_one", "sequential", "swallowed_error"}
    assert by_kind["n_plus_one"]["spanIDs"] == [s.span_id.hex() for s in data.selects]
    assert STATEMENT in by_kind["n_plus_one"]["message"]
    assert "6 times" in by_kind["n_plus_one"]["message"]
    assert by_kind["sequential"]["spanIDs"] == [
        data.pricing_call.span_id.hex(),
        data.stock_call.span_id.hex(),
    ]
    # The failure, and the request that nonetheless answered 200.
    assert by_kind["swallowed_error"]["spanIDs"] == [
        data.price.span_id.hex(),
        data.root.span_id.hex(),
    ]
    assert "no price" in by_kind["swallowed_error"]["message"]
    stricter = (
        await api.get(f"/jaeger/api/x/traces/{data.cart.hex()}/findings?minRepeats=7")
    ).json()
    assert "n_plus_one" not in {f["kind"] for f in stricter["data"]}
    clean = (await api.get(f"/jaeger/api/x/traces/{data.old.hex()}/findings")).json()
    assert clean == {"data": []}
    missing = await api.get(f"/jaeger/api/x/traces/{'ef' * 16}/findings")
    assert missing.status_code == 404


async def test_overlapping_calls_are_not_sequential(api: httpx.AsyncClient, send: Send) -> None:
    trace_id, start = new_trace_id(), now_us() - 10_000 * MS
    root = SpanSpec("fan", "GET /fan", start, 30 * MS, trace_id, kind=SERVER)
    calls = [
        SpanSpec(
            "fan", f"call {name}", start + MS, 20 * MS, trace_id, parent_id=root.span_id, kind=3
        )
        for name in ("a", "b", "c")
    ]
    await send("traces", traces_request([root, *calls]))
    body = (await api.get(f"/jaeger/api/x/traces/{trace_id.hex()}/findings")).json()
    assert body == {"data": []}


async def test_logs_of_a_trace(api: httpx.AsyncClient, data: Dataset) -> None:
    body = (await api.get(f"/jaeger/api/x/traces/{data.cart.hex()}/logs")).json()
    assert body["data"] == [
        {
            "timestamp": data.root.start_us + 2 * MS,
            "severityText": "INFO",
            "severityNumber": 9,
            "body": "cart opened",
            "traceID": data.cart.hex(),
            "spanID": data.root.span_id.hex(),
            "attributes": {"logger": "tests"},
            "service": "api",
        },
        {
            "timestamp": data.root.start_us + 17 * MS,
            "severityText": "ERROR",
            "severityNumber": 17,
            "body": "price missing",
            "traceID": data.cart.hex(),
            "spanID": data.price.span_id.hex(),
            "attributes": {"logger": "tests"},
            "service": "api",
        },
    ]
    none = (await api.get(f"/jaeger/api/x/traces/{data.slow.hex()}/logs")).json()
    assert none == {"data": []}


async def test_export_html_is_one_self_contained_file(
    api: httpx.AsyncClient, data: Dataset
) -> None:
    response = await api.get(f"/jaeger/api/x/traces/{data.cart.hex()}/export.html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f'filename="trace-{data.cart.hex()}.html"' in response.headers["content-disposition"]
    page = response.text
    assert data.cart.hex() in page
    assert "price missing" in page
    assert "<script src=" not in page  # nothing to fetch: it must open offline
    assert (await api.get(f"/jaeger/api/x/traces/{'12' * 16}/export.html")).status_code == 404


async def test_live_tail_streams_new_traces(api: httpx.AsyncClient, send: Send) -> None:
    trace_id = new_trace_id()
    async with api.stream("GET", "/jaeger/api/x/tail") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": connected"
        start = now_us()
        root = SpanSpec("tailed", "GET /live", start, 7 * MS, trace_id, kind=SERVER)
        child = SpanSpec(
            "tailed", "work", start + 1, MS, trace_id, parent_id=root.span_id, status=ERROR
        )
        await send("traces", traces_request([child, root]))
        event_lines: list[str] = []
        while len(event_lines) < 2:
            line = await asyncio.wait_for(anext(lines), 10)
            if line:
                event_lines.append(line)
    assert event_lines[0] == "event: trace"
    assert json.loads(event_lines[1].removeprefix("data: ")) == {
        "traceID": trace_id.hex(),
        "service": "tailed",
        "operation": "GET /live",
        "startTime": start,
        "duration": 7 * MS,
        "spanCount": 2,
        "errors": 1,
    }


async def test_tail_drops_slow_listeners_and_bounds_their_number() -> None:
    hub = TailHub(max_subscribers=2, queue_size=3)
    root = StoredRoot(b"\x01" * 16, "s", "op", 1, 2, 1, 0)
    async with hub.subscribe() as slow, hub.subscribe():
        with pytest.raises(TooManySubscribersError):
            async with hub.subscribe():
                pass
        for _ in range(4):
            hub.publish_from_thread([root])
        await asyncio.sleep(0.05)
        assert await slow.get() is None  # the slow listener's stream ended
        assert hub.dropped_subscribers == 2
        async with hub.subscribe() as fresh:  # room again for a new listener
            hub.publish_from_thread([root])
            event = await asyncio.wait_for(fresh.get(), 1)
            assert event is not None
            assert event["traceID"] == "01" * 16


async def test_monitor_buckets_rate_errors_and_latency(api: httpx.AsyncClient, send: Send) -> None:
    end_ms = now_us() // 1000 // 60_000 * 60_000  # a whole minute, so buckets are exact
    start_us = (end_ms - 3 * 60_000) * 1000
    trace_id = new_trace_id()
    specs = []
    # Minute 0: 4 requests of 10, 20, 30, 40 ms, one failed; minute 1: none; minute 2: one of
    # 5 ms. A CLIENT span is not a request served and must not count.
    for i, (offset_s, ms, status) in enumerate(
        [(1, 10, 0), (2, 20, 0), (3, 30, ERROR), (4, 40, 0), (150, 5, 0)]
    ):
        specs.append(
            SpanSpec(
                "shop",
                "GET /item" if i % 2 == 0 else "GET /cart",
                start_us + offset_s * 1_000_000,
                ms * MS,
                trace_id,
                kind=SERVER,
                status=status,
            )
        )
    specs.append(SpanSpec("shop", "call db", start_us + 5_000_000, MS, trace_id, kind=3))
    await send("traces", traces_request(specs))

    query = f"endTs={end_ms}&lookback=180000&step=60000"
    body = (await api.get(f"/jaeger/api/x/monitor?service=shop&{query}")).json()["data"]
    assert body["stepMs"] == 60_000
    assert body["bucketStarts"] == [start_us + i * 60_000_000 for i in range(3)]
    overall = next(row for row in body["series"] if row["operation"] is None)
    assert (overall["count"], overall["errorCount"], overall["p99"]) == (5, 1, 40 * MS)
    first, empty, last = overall["buckets"]
    assert first == {
        "count": 4,
        "ratePerSec": 4 / 60,
        "errorCount": 1,
        "errorRate": 0.25,
        "p50": 20 * MS,
        "p95": 40 * MS,
        "p99": 40 * MS,
    }
    assert empty["count"] == 0
    assert empty["p50"] is None  # a gap in the chart, not a zero latency
    assert (last["count"], last["p50"]) == (1, 5 * MS)
    operations = {row["operation"]: row["count"] for row in body["series"] if row["operation"]}
    assert operations == {"GET /item": 3, "GET /cart": 2}

    everyone = (await api.get(f"/jaeger/api/x/monitor?{query}")).json()["data"]["series"]
    assert [(row["service"], row["operation"], row["count"]) for row in everyone] == [
        ("shop", None, 5)
    ]
    for bad in ("lookback=0", "lookback=999999999999", "lookback=3600000&step=1000", "step=x"):
        response = await api.get(f"/jaeger/api/x/monitor?{bad}")
        assert response.status_code == 400, bad
        assert response.json()["errors"][0]["msg"].startswith("unable to parse param")
