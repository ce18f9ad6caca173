"""Jaeger's classic query API: every endpoint's shape, the search filters with Jaeger's units,
and Jaeger's error envelope for bad parameters and missing traces."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import httpx
import pytest

from collector_tests.dataset import DAY_US, MS, STATEMENT, Dataset

ENVELOPE_KEYS = {"data", "total", "limit", "offset", "errors"}


async def _search(api: httpx.AsyncClient, **params: object) -> list[str]:
    response = await api.get(f"/jaeger/api/traces?{urlencode(params)}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    return [trace["traceID"] for trace in body["data"]]


async def test_services_and_operations(api: httpx.AsyncClient, data: Dataset) -> None:
    services = (await api.get("/jaeger/api/services")).json()
    assert services == {
        "data": ["api", "pricing"],
        "total": 2,
        "limit": 0,
        "offset": 0,
        "errors": None,
    }
    legacy = (await api.get("/jaeger/api/services/api/operations")).json()
    assert legacy["data"] == [
        "GET /cart",
        "GET /slow",
        "SELECT items",
        "call pricing",
        "call stock",
    ]
    assert legacy["total"] == 5
    clients = (await api.get("/jaeger/api/operations?service=api&spanKind=client")).json()
    assert clients["data"] == [
        {"name": "SELECT items", "spanKind": "client"},
        {"name": "call pricing", "spanKind": "client"},
        {"name": "call stock", "spanKind": "client"},
    ]
    every = (await api.get("/jaeger/api/operations?service=pricing")).json()
    assert every["data"] == [{"name": "POST /price", "spanKind": "server"}]
    unknown = (await api.get("/jaeger/api/operations?service=nobody")).json()
    assert unknown["data"] == []
    assert unknown["total"] == 0


async def test_trace_shape_is_jaegers(api: httpx.AsyncClient, data: Dataset) -> None:
    body = (await api.get(f"/jaeger/api/traces/{data.cart.hex()}")).json()
    assert set(body) == ENVELOPE_KEYS
    assert body["errors"] is None
    (trace,) = body["data"]
    assert set(trace) == {"traceID", "spans", "processes", "warnings"}
    assert trace["traceID"] == data.cart.hex()
    assert trace["warnings"] is None
    assert len(trace["spans"]) == 10
    spans = {span["spanID"]: span for span in trace["spans"]}
    call = spans[data.pricing_call.span_id.hex()]
    api_process = call["processID"]
    assert call == {
        "traceID": data.cart.hex(),
        "spanID": data.pricing_call.span_id.hex(),
        "operationName": "call pricing",
        "references": [
            {"refType": "CHILD_OF", "traceID": data.cart.hex(), "spanID": data.root.span_id.hex()}
        ],
        "startTime": data.pricing_call.start_us,
        "duration": 10 * MS,
        "tags": [
            {"key": "otel.scope.name", "type": "string", "value": "tests"},
            {"key": "otel.scope.version", "type": "string", "value": "1.0"},
            {"key": "span.kind", "type": "string", "value": "client"},
            {"key": "otel.status_code", "type": "string", "value": "OK"},
        ],
        "logs": [
            {
                "timestamp": data.pricing_call.start_us + 5 * MS,
                "fields": [
                    {"key": "event", "type": "string", "value": "retry"},
                    {"key": "attempt", "type": "int64", "value": 2},
                ],
            }
        ],
        "processID": api_process,
        "warnings": None,
        "flags": 0,
    }
    stock = spans[data.stock_call.span_id.hex()]
    assert stock["references"][1] == {
        "refType": "FOLLOWS_FROM",
        "traceID": data.slow.hex(),
        "spanID": "01" * 8,
    }
    price = spans[data.price.span_id.hex()]
    price_tags = {tag["key"]: tag for tag in price["tags"]}
    assert price_tags["error"] == {"key": "error", "type": "bool", "value": True}
    assert price_tags["otel.status_code"]["value"] == "ERROR"
    assert price_tags["otel.status_description"]["value"] == "no price"
    assert trace["processes"][api_process] == {
        "serviceName": "api",
        "tags": [{"key": "deployment.environment", "type": "string", "value": "test"}],
    }
    assert trace["processes"][price["processID"]] == {"serviceName": "pricing", "tags": []}
    assert sorted(trace["processes"]) == ["p1", "p2"]


async def test_search_filters(api: httpx.AsyncClient, data: Dataset) -> None:
    cart, slow, old = data.cart.hex(), data.slow.hex(), data.old.hex()
    assert await _search(api, service="api") == [slow, cart]  # newest first, old is out of window
    assert await _search(api, service="api", lookback="7d") == [slow, cart, old]
    assert await _search(
        api, service="api", start=data.now_us - 4 * DAY_US, end=data.now_us - DAY_US
    ) == [old]
    assert await _search(api, service="api", limit=1) == [slow]
    assert await _search(api, service="api", operation="SELECT items") == [cart]
    assert await _search(api, service="pricing") == [cart]
    assert await _search(api, service="api", minDuration="1.5s") == [slow]
    assert await _search(api, service="api", operation="GET /cart", maxDuration="60ms") == [cart]
    assert await _search(api, service="api", minDuration="100ms", maxDuration="1s") == []
    tags = {
        "span attribute": ({"db.statement": STATEMENT}, [cart]),
        "int attribute": ({"http.status_code": "500"}, [slow]),
        "resource attribute": ({"deployment.environment": "test"}, [slow, cart]),
        "scope name": ({"otel.scope.name": "web-framework"}, [cart]),
        "error status": ({"error": "true"}, [slow]),
        "span kind": ({"span.kind": "client"}, [cart]),
        "all must hold on one span": ({"http.route": "/cart", "db.system": "sqlite"}, []),
        "no such value": ({"db.statement": "DELETE"}, []),
    }
    for what, (tag_map, expected) in tags.items():
        assert await _search(api, service="api", tags=json.dumps(tag_map)) == expected, what
    assert await _search(api, service="pricing", tag="error:true") == [cart]
    assert await _search(api, service="api", traceID=slow) == [slow]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "parameter 'service' is required"),
        ("service=api&tags=%7Bnope", "malformed 'tags' parameter, cannot unmarshal JSON"),
        ("service=api&tags=%5B1%5D", "malformed 'tags' parameter"),
        ("service=api&tag=novalue", "malformed 'tag' parameter, expecting key:value"),
        ("service=api&minDuration=fast", "unable to parse param 'minDuration'"),
        (
            "service=api&minDuration=2s&maxDuration=1s",
            "'maxDuration' should be greater than 'minDuration'",
        ),
        ("service=api&limit=ten", "unable to parse param 'limit'"),
        ("service=api&start=yesterday", "unable to parse param 'start'"),
        ("service=api&lookback=long", "unable to parse param 'lookback'"),
        ("traceID=xyz", "cannot parse traceID"),
    ],
)
async def test_bad_search_parameters_get_jaegers_400(
    api: httpx.AsyncClient, query: str, message: str
) -> None:
    response = await api.get(f"/jaeger/api/traces?{query}")
    assert response.status_code == 400
    body = response.json()
    assert body["data"] is None
    assert body["total"] == 0
    (error,) = body["errors"]
    assert error["code"] == 400
    assert message in error["msg"]


async def test_missing_and_malformed_trace_ids(api: httpx.AsyncClient, data: Dataset) -> None:
    missing = await api.get(f"/jaeger/api/traces/{'ab' * 16}")
    assert missing.status_code == 404
    assert missing.json() == {
        "data": None,
        "total": 0,
        "limit": 0,
        "offset": 0,
        "errors": [{"code": 404, "msg": "trace not found"}],
    }
    assert (await api.get("/jaeger/api/traces/not-hex")).status_code == 400
    assert (await api.get(f"/jaeger/api/traces/{'a' * 33}")).status_code == 400
    # Jaeger prints ids without leading zeros; both spellings find the trace.
    short = data.cart.hex().lstrip("0")
    assert (await api.get(f"/jaeger/api/traces/{short}")).status_code == 200
    assert (await api.get("/jaeger/api/operations")).status_code == 400
    assert (
        await api.get("/jaeger/api/operations?service=api&spanKind=sideways")
    ).status_code == 400


async def test_dependencies(api: httpx.AsyncClient, data: Dataset) -> None:
    end_ms = data.now_us // 1000
    body = (await api.get(f"/jaeger/api/dependencies?endTs={end_ms}&lookback=3600000")).json()
    assert body["data"] == [{"parent": "api", "child": "pricing", "callCount": 1}]
    assert set(body) == ENVELOPE_KEYS
    before = await api.get(f"/jaeger/api/dependencies?endTs={end_ms - 3_600_000}&lookback=60000")
    assert before.json()["data"] == []
    bad = await api.get("/jaeger/api/dependencies?endTs=soon")
    assert bad.status_code == 400
    assert "unable to parse param 'endTs'" in bad.json()["errors"][0]["msg"]
