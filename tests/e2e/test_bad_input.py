"""Bad input on every REST route of the real stack: a clear 4xx in the error shape, never a 5xx,
and nothing stored half."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from onehub.app import RunningOneHub

HOSTILE = [
    "'; DROP TABLE topics; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM messages;--",
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "😀🚀 ünïcødé ∑ 中文 עברית",
    "a" * 5000,
]


async def _routes(api: httpx.AsyncClient) -> list[tuple[str, str]]:
    document = (await api.get("/api/openapi.json")).json()
    return [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if method != "parameters"
    ]


def _fill(path: str, value: str) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


async def _snapshot(api: httpx.AsyncClient) -> dict[str, Any]:
    users = (await api.get("/v1/users")).json()["users"]
    topics = (await api.get("/v1/topics")).json()["topics"]
    messages = {
        t["base"]["id"]: (await api.get(f"/v1/topics/{t['base']['id']}/messages")).json()[
            "messages"
        ]
        for t in topics
    }
    return {"users": users, "topics": topics, "messages": messages}


def _assert_error(response: httpx.Response, *statuses: int) -> None:
    assert response.status_code in statuses, (
        response.request.method,
        response.request.url,
        response.status_code,
        response.text[:300],
    )
    body = response.json()
    assert set(body) >= {"code", "message", "details"}
    assert isinstance(body["code"], int)
    assert body["message"]
    assert "Traceback" not in response.text


@pytest.fixture
async def seeded(api: httpx.AsyncClient) -> dict[str, Any]:
    await api.post("/v1/users", json={"user": {"id": "alice", "name": "Alice"}})
    await api.post("/v1/topics", json={"topic": {"base": {"id": "t1"}, "name": "first"}})
    await api.post(
        "/v1/topics/t1/messages",
        json={"messages": [{"base": {"id": "m1"}, "contentBase": {"contentText": "hi"}}]},
    )
    return await _snapshot(api)


async def test_every_route_refuses_missing_and_wrong_credentials(
    hub: RunningOneHub, api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    async with httpx.AsyncClient(base_url=hub.gateway_url) as anonymous:
        for method, path in await _routes(api):
            url = _fill(path, "t1")
            _assert_error(await anonymous.request(method, url, json={}), 401)
            _assert_error(
                await anonymous.request(method, url, json={}, auth=("admin", "wrong")), 401
            )
            _assert_error(
                await anonymous.request(
                    method, url, headers={"Authorization": "Basic !!!notbase64"}
                ),
                401,
            )
            _assert_error(
                await anonymous.request(method, url, headers={"Authorization": "Bearer abc"}), 401
            )
    assert await _snapshot(api) == seeded


async def test_every_body_route_refuses_malformed_and_mistyped_bodies(
    api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    for method, path in await _routes(api):
        if method not in ("POST", "PATCH"):
            continue
        url = _fill(path, "t1")
        for raw in [
            b"{",
            b"not json",
            b"[1, 2]",
            b"null",
            b'"string"',
            b"\xff\xfe",
            b'{"topic": {"name": NaN}}',
        ]:
            _assert_error(
                await api.request(
                    method, url, content=raw, headers={"Content-Type": "application/json"}
                ),
                400,
            )
        for wrong in [
            {"topic": "x"},
            {"messages": 5},
            {"user": ["x"]},
            {"message": {"base": 7}},
            {"pagination": {"pageSize": "many"}},
        ]:
            response = await api.request(method, url, json=wrong)
            assert response.status_code < 500, (method, url, wrong, response.text)
            if response.status_code != 200:
                _assert_error(response, 400, 404)
    assert await _snapshot(api) == seeded


async def test_every_body_route_refuses_oversized_bodies(
    api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    document = (await api.get("/api/openapi.json")).json()
    for method, path in await _routes(api):
        if method not in ("POST", "PATCH"):
            continue
        # Each route's own limit (the bulk import's is larger than --max-body-bytes).
        limit = document["paths"][path][method.lower()]["requestBody"]["x-max-body-bytes"]
        huge = b'{"topic": {"name": "' + b"x" * limit + b'"}}'
        response = await api.request(
            method, _fill(path, "t1"), content=huge, headers={"Content-Type": "application/json"}
        )
        _assert_error(response, 413)
        assert str(limit) in response.json()["message"]
    assert await _snapshot(api) == seeded


async def test_hostile_path_values_on_every_route(
    api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    for method, path in await _routes(api):
        if "{" not in path or method in ("POST", "PATCH"):
            continue
        for value in HOSTILE:
            response = await api.request(method, _fill(path, value))
            _assert_error(response, 400, 404)
    assert await _snapshot(api) == seeded


async def test_absurd_page_sizes_and_cursors(
    api: httpx.AsyncClient, seeded: dict[str, Any]
) -> None:
    for path in ("/v1/topics", "/v1/users", "/v1/topics/t1/messages", "/v1/messages"):
        for bad in ("-1", "abc", "99999999999", "1e3", ""):
            # An empty number is a parse error, as in grpc-gateway.
            _assert_error(await api.get(path, params={"pagination.page_size": bad}), 400)
        _assert_error(await api.get(path, params={"pagination.page_key": "garbage!!"}), 400)
        capped = await api.get(path, params={"pagination.page_size": "1000000"})
        assert capped.status_code == 200, capped.text


async def test_hostile_text_is_stored_verbatim_and_harmless(api: httpx.AsyncClient) -> None:
    for i, text in enumerate(HOSTILE[:-1]):
        r = await api.post("/v1/topics", json={"topic": {"base": {"id": f"h{i}"}, "name": text}})
        assert r.status_code == 200, r.text
        assert r.json()["topic"]["name"] == text
        r = await api.post(
            f"/v1/topics/h{i}/messages", json={"messages": [{"contentBase": {"contentText": text}}]}
        )
        assert r.status_code == 200, r.text
        found = await api.get("/v1/messages", params={"search_phrase": text, "topic_id": f"h{i}"})
        assert found.status_code == 200, found.text
    assert len((await api.get("/v1/topics")).json()["topics"]) == len(HOSTILE) - 1


async def test_unknown_routes_and_methods(api: httpx.AsyncClient) -> None:
    _assert_error(await api.get("/v1/nothing-here"), 404)
    _assert_error(await api.get("/api/v1/topics/t1/nothing"), 404)
    _assert_error(await api.put("/v1/topics/t1", json={}), 405)
    _assert_error(await api.post("/v1/topics:frobnicate", json={}), 404)
