"""Page keys are signed with the deployment's secret, kept in its database: a forged, tampered,
truncated or foreign key is a 400 "invalid page key" (INVALID_ARGUMENT over gRPC), while genuine
keys work on every replica and across restarts."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import httpx
import pytest

from onehub.app import RunningOneHub, start_onehub
from onehub.config import Settings
from onehub.gen.onehub.v1 import (
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    topics_pb2,
    topics_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)
from onehub.telemetry.testing import InMemoryTelemetry
from tests.e2e.support import ADMIN_METADATA, another_database, grpc_channel

LISTS = ("/v1/topics", "/v1/users", "/v1/topics/t0/messages", "/v1/messages")


def _old_style_cursor(scope: str, values: list[str]) -> str:
    """A cursor as the stores make them, unsigned: what a forger can build from the source."""
    digest = hashlib.sha256(f"{scope}|name,id".encode()).hexdigest()[:16]
    raw = json.dumps({"s": digest, "v": values}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


async def _seed(api: httpx.AsyncClient) -> None:
    for i in range(3):
        r = await api.post("/v1/topics", json={"topic": {"base": {"id": f"t{i}"}, "name": f"n{i}"}})
        assert r.status_code == 200, r.text
        r = await api.post("/v1/users", json={"user": {"id": f"u{i}", "name": f"U{i}"}})
        assert r.status_code == 200, r.text
        r = await api.post(
            "/v1/topics/t0/messages", json={"messages": [{"contentBase": {"contentText": f"{i}"}}]}
        )
        assert r.status_code == 200, r.text


async def _first_key(api: httpx.AsyncClient, path: str) -> str:
    r = await api.get(path, params={"pagination.page_size": 1})
    assert r.status_code == 200, r.text
    key: str = r.json()["pagination"]["nextPageKey"]
    assert key
    return key


def _assert_invalid_key(response: httpx.Response) -> None:
    assert response.status_code == 400, (response.request.url, response.text[:300])
    assert response.json()["message"] == "invalid page key"


def _forgeries(genuine: str) -> list[str]:
    flipped = genuine[:3] + ("A" if genuine[3] != "A" else "B") + genuine[4:]
    return [
        flipped,  # tampered cursor
        genuine[:-1],  # truncated tag
        genuine[: genuine.rindex(".")],  # tag dropped: the bare cursor of old
        genuine + "\x00",
        "\x00" + genuine,
        genuine.replace(".", "\x00.", 1),
        _old_style_cursor("topics", ["\x00", "\x00"]),
        _old_style_cursor("topics", ["n0", "t0"]),
        "garbage",
    ]


async def test_forged_keys_are_refused_over_rest(api: httpx.AsyncClient) -> None:
    await _seed(api)
    for path in LISTS:
        for forged in _forgeries(await _first_key(api, path)):
            _assert_invalid_key(
                await api.get(
                    path, params={"pagination.page_size": 1, "pagination.page_key": forged}
                )
            )
    # A genuine key of one list is no key for another.
    topics_key = await _first_key(api, "/v1/topics")
    r = await api.get("/v1/users", params={"pagination.page_key": topics_key})
    assert r.status_code == 400, r.text


async def test_forged_keys_are_refused_over_grpc(
    hub: RunningOneHub, api: httpx.AsyncClient
) -> None:
    await _seed(api)
    forged = _forgeries(await _first_key(api, "/v1/topics"))
    async with grpc_channel(hub) as channel:
        topics = topics_pb2_grpc.TopicServiceStub(channel)
        users = users_pb2_grpc.UserServiceStub(channel)
        messages = messages_pb2_grpc.MessageServiceStub(channel)
        calls = [
            lambda p: topics.ListTopics(
                topics_pb2.ListTopicsRequest(pagination=p), metadata=ADMIN_METADATA
            ),
            lambda p: users.ListUsers(
                users_pb2.ListUsersRequest(pagination=p), metadata=ADMIN_METADATA
            ),
            lambda p: messages.ListMessages(
                messages_pb2.ListMessagesRequest(topic_id="t0", pagination=p),
                metadata=ADMIN_METADATA,
            ),
            lambda p: messages.SearchMessages(
                messages_pb2.SearchMessagesRequest(pagination=p), metadata=ADMIN_METADATA
            ),
        ]
        for call in calls:
            for key in forged:
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await call(models_pb2.Pagination(page_key=key, page_size=1))
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, key
                assert refused.value.details() == "invalid page key"


@asynccontextmanager
async def _running(
    settings: Settings, telemetry: InMemoryTelemetry
) -> AsyncIterator[RunningOneHub]:
    running = await start_onehub(settings, telemetry=telemetry.telemetry)
    try:
        yield running
    finally:
        await running.stop()


def _settings(database_url: str) -> Settings:
    return Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        db_endpoint=database_url,
        collector="none",
        grace_seconds=1.0,
    )


async def _page(url: str, key: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=url, auth=("admin", "admin123"), timeout=10) as client:
        return await client.get(
            "/v1/topics", params={"pagination.page_size": 1, "pagination.page_key": key}
        )


async def test_keys_hold_across_replicas_and_restarts_but_not_across_deployments(
    database_url: str, telemetry: InMemoryTelemetry, tmp_path: Path
) -> None:
    settings = _settings(database_url)
    # Two replicas starting at once on a fresh database agree on one secret.
    first, second = await asyncio.gather(
        start_onehub(settings, telemetry=telemetry.telemetry),
        start_onehub(settings, telemetry=telemetry.telemetry),
    )
    try:
        async with httpx.AsyncClient(
            base_url=first.gateway_url, auth=("admin", "admin123"), timeout=10
        ) as api:
            await _seed(api)
            key = await _first_key(api, "/v1/topics")
        on_second = await _page(second.gateway_url, key)
        assert on_second.status_code == 200, on_second.text
        assert [t["name"] for t in on_second.json()["topics"]] == ["n1"]
    finally:
        await first.stop()
        await second.stop()

    async with _running(settings, telemetry) as restarted:
        r = await _page(restarted.gateway_url, key)
        assert r.status_code == 200, r.text
        assert [t["name"] for t in r.json()["topics"]] == ["n1"]
        r = await _page(restarted.gateway_url, r.json()["pagination"]["nextPageKey"])
        assert [t["name"] for t in r.json()["topics"]] == ["n2"]
        assert r.json()["pagination"]["nextPageKey"] == ""

    # Another deployment with the very same data still refuses this one's keys.
    async with (
        another_database(database_url, tmp_path) as other_url,
        _running(dataclasses.replace(settings, db_endpoint=other_url), telemetry) as other,
    ):
        async with httpx.AsyncClient(
            base_url=other.gateway_url, auth=("admin", "admin123"), timeout=10
        ) as api:
            await _seed(api)
            assert (
                await _page(other.gateway_url, await _first_key(api, "/v1/topics"))
            ).status_code == 200
        _assert_invalid_key(await _page(other.gateway_url, key))
