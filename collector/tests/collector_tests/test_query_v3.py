"""Jaeger's v3 API (OTLP/JSON): services, operations, search and trace by id, with its
`{"result": {"resourceSpans": ...}}` wrapper and `{"error": {httpCode, message}}` errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import pytest

from collector_tests.dataset import MS, Dataset


def _rfc3339(us: int) -> str:
    moment = datetime.fromtimestamp(us // 1_000_000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{moment}.{us % 1_000_000:06d}123Z"  # nanosecond precision, as Go writes it


def _trace_ids(body: dict[str, object]) -> set[str]:
    result = body["result"]
    assert isinstance(result, dict)
    return {
        span["traceId"]
        for resource_spans in result["resourceSpans"]
        for scope_spans in resource_spans["scopeSpans"]
        for span in scope_spans["spans"]
    }


async def test_services_and_operations(api: httpx.AsyncClient, data: Dataset) -> None:
    assert (await api.get("/jaeger/api/v3/services")).json() == {"services": ["api", "pricing"]}
    servers = (await api.get("/jaeger/api/v3/operations?service=api&span_kind=server")).json()
    assert servers == {
        "operations": [
            {"name": "GET /cart", "spanKind": "server"},
            {"name": "GET /slow", "spanKind": "server"},
        ]
    }


async def test_trace_by_id_is_otlp_json(api: httpx.AsyncClient, data: Dataset) -> None:
    response = await api.get(f"/jaeger/api/v3/traces/{data.cart.hex()}")
    assert response.status_code == 200
    resource_spans = response.json()["result"]["resourceSpans"]
    services = {
        next(
            a["value"]["stringValue"]
            for a in rs["resource"]["attributes"]
            if a["key"] == "service.name"
        )
        for rs in resource_spans
    }
    assert services == {"api", "pricing"}
    spans = {
        span["spanId"]: (scope_spans["scope"], span)
        for rs in resource_spans
        for scope_spans in rs["scopeSpans"]
        for span in scope_spans["spans"]
    }
    scope, price = spans[data.price.span_id.hex()]
    assert scope == {"name": "tests", "version": "1.0"}
    assert price == {
        "traceId": data.cart.hex(),
        "spanId": data.price.span_id.hex(),
        "parentSpanId": data.pricing_call.span_id.hex(),
        "name": "POST /price",
        "kind": 2,
        "startTimeUnixNano": str(data.price.start_us * 1000),
        "endTimeUnixNano": str((data.price.start_us + 8 * MS) * 1000),
        "status": {"message": "no price", "code": 2},
    }
    missing = await api.get(f"/jaeger/api/v3/traces/{'cd' * 16}")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"httpCode": 404, "message": "trace not found"}}
    malformed = await api.get("/jaeger/api/v3/traces/zzz")
    assert malformed.status_code == 400
    assert malformed.json()["error"]["message"].startswith("malformed parameter trace_id")


async def test_search(api: httpx.AsyncClient, data: Dataset) -> None:
    window = {
        "query.start_time_min": _rfc3339(data.now_us - 3600 * 1_000_000),
        "query.start_time_max": _rfc3339(data.now_us),
    }

    async def search(**params: str) -> httpx.Response:
        return await api.get(f"/jaeger/api/v3/traces?{urlencode({**window, **params})}")

    both = await search(**{"query.service_name": "api"})
    assert _trace_ids(both.json()) == {data.cart.hex(), data.slow.hex()}
    one = await search(**{"query.service_name": "api", "query.num_traces": "1"})
    assert _trace_ids(one.json()) == {data.slow.hex()}
    slow = await search(**{"query.service_name": "api", "query.duration_min": "1s"})
    assert _trace_ids(slow.json()) == {data.slow.hex()}
    by_operation = await search(
        **{"query.service_name": "api", "query.operation_name": "call stock"}
    )
    assert _trace_ids(by_operation.json()) == {data.cart.hex()}
    as_json = await search(
        **{"query.service_name": "api", "query.attributes": json.dumps({"http.status_code": "500"})}
    )
    assert _trace_ids(as_json.json()) == {data.slow.hex()}
    as_map = await search(**{"query.service_name": "api", "query.attributes[db.system]": "sqlite"})
    assert _trace_ids(as_map.json()) == {data.cart.hex()}
    nothing = await search(**{"query.service_name": "api", "query.duration_min": "1h"})
    assert nothing.status_code == 404
    assert nothing.json() == {"error": {"httpCode": 404, "message": "No traces found"}}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"query.service_name": "api"},
            "query.start_time_min and query.start_time_max are required",
        ),
        (
            {
                "query.service_name": "api",
                "query.start_time_min": "yesterday",
                "query.start_time_max": "2025-01-01T00:00:00Z",
            },
            "malformed parameter query.start_time_min",
        ),
        (
            {
                "query.start_time_min": "2025-01-01T00:00:00Z",
                "query.start_time_max": "2025-01-02T00:00:00Z",
            },
            "query.service_name is required",
        ),
        (
            {
                "query.service_name": "api",
                "query.start_time_min": "2025-01-01T00:00:00Z",
                "query.start_time_max": "2025-01-02T00:00:00Z",
                "query.duration_min": "x",
            },
            "query.duration_min",
        ),
    ],
)
async def test_bad_parameters(api: httpx.AsyncClient, params: dict[str, str], message: str) -> None:
    response = await api.get(f"/jaeger/api/v3/traces?{urlencode(params)}")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["httpCode"] == 400
    assert message in error["message"]
