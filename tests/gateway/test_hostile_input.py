"""Hostile input gets a clear 4xx or is carried as inert data, never a 500."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from .conftest import Gateway, LiveGateway


@pytest.mark.parametrize(
    "value",
    [
        "'; DROP TABLE topics; --",
        "1 OR 1=1",
        '" UNION SELECT * FROM users --',
        "Ünïcødé ✓ 漢字 🚀",
        "<script>alert(1)</script>",
        "%00 ../ \\ ?#&=",
    ],
)
async def test_metacharacters_travel_as_plain_data(gateway: Gateway, value: str) -> None:
    by_path = await gateway.client.get(f"/v1/topics/{quote(value, safe='')}")
    by_query = await gateway.client.get("/v1/messages", params={"search_phrase": value})
    by_body = await gateway.client.post("/v1/topics", json={"topic": {"name": value}})

    assert (by_path.status_code, by_query.status_code, by_body.status_code) == (200, 200, 200)
    requests = [call.request for call in gateway.backend.calls]
    assert requests[0].id == value  # type: ignore[attr-defined]
    assert requests[1].search_phrase == value  # type: ignore[attr-defined]
    assert requests[2].topic.name == value  # type: ignore[attr-defined]


async def test_an_encoded_path_traversal_is_only_an_id(live_gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=live_gateway.url, auth=("alice", "alice123")) as client:
        response = await client.get("/v1/topics/..%2F..%2Fetc%2Fpasswd")
        escaped = await client.get("/api/v1/topics/..%2F..")

    assert response.status_code == 200
    assert escaped.status_code == 200
    ids = [call.request.id for call in live_gateway.backend.calls]  # type: ignore[attr-defined]
    assert ids == ["../../etc/passwd", "../.."]


async def test_bad_percent_escapes_are_400(gateway: Gateway) -> None:
    in_path = await gateway.client.get("/v1/topics/%FF%FE")
    in_query = await gateway.client.get("/v1/messages?search_phrase=%FF")

    assert in_path.status_code == 400
    assert "UTF-8" in in_path.json()["message"]
    assert in_query.status_code == 400
    assert gateway.backend.calls == []


async def test_a_very_long_path_is_an_ordinary_lookup_or_404(gateway: Gateway) -> None:
    long_id = "a" * 20_000
    found = await gateway.client.get(f"/v1/topics/{long_id}")
    deep = await gateway.client.get("/v1/topics" + "/x" * 5_000)

    assert found.status_code == 200
    assert gateway.backend.last.request.id == long_id  # type: ignore[attr-defined]
    assert deep.status_code == 404


async def test_a_huge_query_string_is_refused_clearly(gateway: Gateway) -> None:
    many = "&".join(f"ids={i}" for i in range(5_000))
    long_value = await gateway.client.get("/v1/messages", params={"search_phrase": "q" * 50_000})
    too_many = await gateway.client.get(f"/v1/topics:batchGet?{many}")

    assert long_value.status_code == 200
    assert too_many.status_code == 400
    assert "more than" in too_many.json()["message"]


async def test_a_real_server_answers_malformed_json_with_400(live_gateway: LiveGateway) -> None:
    async with httpx.AsyncClient(base_url=live_gateway.url, auth=("alice", "alice123")) as client:
        response = await client.post(
            "/api/v1/topics", content=b'{"topic": {', headers={"content-type": "application/json"}
        )

    assert response.status_code == 400
    assert response.json()["code"] == 3
