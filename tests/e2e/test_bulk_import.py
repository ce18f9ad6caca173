"""Bulk import as the original's load script does it, over REST on the real stack (SQLite and
PostgreSQL): users and topics ensured one by one, then `POST /api/v1/messages:import` with
batches of thousands of messages in snake_case with `created_at`, then reading them back.

The `hub` fixture keeps --max-body-bytes at 64 KiB: the import route has its own, larger limit.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from onehub.app import RunningOneHub
from onehub.app.wiring import IMPORT_MAX_BODY_BYTES
from onehub.services.ids import MAX_IMPORT_BATCH_SIZE

IMPORT = "/api/v1/messages:import"
USERS = 12
TOPICS = 6
# A week ago, as the script's MSG_START_TIME.
START = datetime(2024, 3, 1, 12, 0, 0).timestamp()


def to_datetime(t: float) -> str:
    """The script's timestamp format: naive isoformat (microseconds when there are any) + Z."""
    return datetime.fromtimestamp(t).isoformat() + "Z"


def script_messages(
    users: list[str], topic_id: str, texts: list[str], rng: random.Random
) -> list[dict[str, Any]]:
    """`create_random_messages` of the script: one topic's messages, spaced in time."""
    gap = rng.random() * 300
    start = START + rng.random() * 3600
    return [
        {
            "topic_id": topic_id,
            "base": {
                "creator_id": rng.choice(users),
                "created_at": to_datetime(start + gap * i),
                "updated_at": to_datetime(start + gap * i),
            },
            "content_base": {"content_type": "text/plain", "content_text": text},
        }
        for i, text in enumerate(texts)
    ]


def batch(count: int, rng: random.Random, topic: str = "lt1") -> list[dict[str, Any]]:
    texts = [f"message {i}: " + "chat " * rng.randint(20, 80) for i in range(count)]
    return script_messages([f"ltuser{i}" for i in range(USERS)], topic, texts, rng)


@pytest.fixture
async def admin(hub: RunningOneHub) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=hub.gateway_url, auth=("admin", "admin123"), timeout=120
    ) as client:
        yield client


async def ensure_users(admin: httpx.AsyncClient) -> list[str]:
    ids = []
    for i in range(USERS):
        user_id = f"ltuser{i}"
        response = await admin.get(f"/api/v1/users/{user_id}")
        if response.status_code != 200:
            user = {"id": user_id, "name": f"Load Tester {i}"}
            response = await admin.post("/api/v1/users", json={"user": user})
        assert response.status_code == 200, response.text
        ids.append(response.json()["user"]["id"])
    return ids


async def ensure_topics(hub: RunningOneHub, users: list[str]) -> list[str]:
    ids = []
    for i in range(1, TOPICS + 1):
        creator = users[i % len(users)]
        async with httpx.AsyncClient(
            base_url=hub.gateway_url, auth=(creator, f"{creator}123"), timeout=30
        ) as client:
            topic_id = f"lt{i}"
            response = await client.get(f"/api/v1/topics/{topic_id}")
            if response.status_code != 200:
                topic = {"base": {"id": topic_id}, "name": f"topic {i}"}
                response = await client.post("/api/v1/topics", json={"topic": topic})
            assert response.status_code == 200, response.text
            ids.append(response.json()["topic"]["base"]["id"])
    return ids


async def list_all(admin: httpx.AsyncClient, topic_id: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    page_key = ""
    while True:
        response = await admin.get(
            f"/api/v1/topics/{topic_id}/messages",
            params={"pagination.page_size": 1000, "pagination.page_key": page_key},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        messages.extend(body["messages"])
        page_key = body["pagination"]["nextPageKey"]
        if not body["pagination"]["hasMoreResults"]:
            return messages


async def stored_count(admin: httpx.AsyncClient, topic_id: str) -> int:
    response = await admin.get(
        f"/api/v1/topics/{topic_id}/messages", params={"pagination.page_size": 1}
    )
    assert response.status_code == 200, response.text
    return int(response.json()["pagination"]["totalNumResults"])


async def test_the_original_load_script_flow_with_batches_of_5001_and_10000(
    hub: RunningOneHub, admin: httpx.AsyncClient
) -> None:
    rng = random.Random(7)
    users = await ensure_users(admin)
    topics = await ensure_topics(hub, users)
    # The script fills a batch topic by topic and sends it once it holds more than 5,000.
    sent: list[dict[str, Any]] = []
    for size in (5001, 10_000):
        messages: list[dict[str, Any]] = []
        while len(messages) < size:
            texts = [f"line {len(sent) + len(messages) + j}" for j in range(rng.randint(50, 400))]
            messages.extend(script_messages(users, rng.choice(topics), texts, rng))
        messages = messages[:size]
        response = await admin.post(IMPORT, json={"messages": messages})
        assert response.status_code == 200, response.text[:300]
        stored = response.json()["messages"]
        assert len(stored) == size
        assert [m["contentBase"]["contentText"] for m in stored] == [
            m["content_base"]["content_text"] for m in messages
        ]
        sent.extend(messages)
    per_topic = Counter(m["topic_id"] for m in sent)
    for topic_id in topics:
        listed = await list_all(admin, topic_id)
        assert len(listed) == per_topic[topic_id]
        expected = sorted(
            (
                datetime.fromisoformat(m["base"]["created_at"]),
                m["content_base"]["content_text"],
                m["base"]["creator_id"],
            )
            for m in sent
            if m["topic_id"] == topic_id
        )
        got = sorted(
            (
                datetime.fromisoformat(m["base"]["createdAt"]),
                m["contentBase"]["contentText"],
                m["base"]["creatorId"],
            )
            for m in listed
        )
        assert got == expected


async def test_a_body_over_the_import_limit_is_413_naming_it(
    hub: RunningOneHub, admin: httpx.AsyncClient
) -> None:
    await ensure_topics(hub, await ensure_users(admin))
    body = json.dumps({"messages": batch(10, random.Random(1))}).encode()

    def padded(size: int) -> bytes:
        return body[:-2] + b" " * (size - len(body)) + body[-2:]

    oversized = padded(IMPORT_MAX_BODY_BYTES + 1)
    response = await admin.post(IMPORT, content=oversized)
    assert response.status_code == 413, response.text
    assert str(IMPORT_MAX_BODY_BYTES) in response.json()["message"]
    # Exactly at the limit it is accepted; other routes keep --max-body-bytes (64 KiB here).
    response = await admin.post(IMPORT, content=padded(IMPORT_MAX_BODY_BYTES))
    assert response.status_code == 200, response.text[:300]
    big_topic = {"topic": {"name": "x", "users": {f"u{i}": True for i in range(10_000)}}}
    response = await admin.post("/api/v1/topics", json=big_topic)
    assert response.status_code == 413, response.text
    assert str(64 * 1024) in response.json()["message"]
    assert await stored_count(admin, "lt1") == 10


async def test_more_messages_than_an_import_takes_is_400_naming_the_limit(
    hub: RunningOneHub, admin: httpx.AsyncClient
) -> None:
    await ensure_topics(hub, await ensure_users(admin))
    tiny = {"topic_id": "lt1", "base": {"creator_id": "ltuser1"}}
    response = await admin.post(IMPORT, json={"messages": [tiny] * (MAX_IMPORT_BATCH_SIZE + 1)})
    assert response.status_code == 400, response.text[:300]
    assert f"at most {MAX_IMPORT_BATCH_SIZE} messages" in response.json()["message"]
    assert await stored_count(admin, "lt1") == 0


@pytest.mark.parametrize(
    ("spoil", "status", "names"),
    [
        # Refused by the service: a creator id with a slash.
        ({"base": {"creator_id": "a/b"}}, 400, "messages[9999]: creator_id"),
        # Refused by the gateway while decoding: a number where text belongs.
        ({"content_base": {"content_text": 5}}, 400, "messages[9999]"),
        # Refused by the database, in the last chunk of the insert: an id already taken.
        ({"base": {"id": "taken", "creator_id": "ltuser2"}}, 409, "taken"),
    ],
    ids=["service", "gateway", "database"],
)
async def test_a_bad_message_at_index_9999_stores_nothing(
    hub: RunningOneHub,
    admin: httpx.AsyncClient,
    spoil: dict[str, Any],
    status: int,
    names: str,
) -> None:
    await ensure_topics(hub, await ensure_users(admin))
    first = {"topic_id": "lt2", "base": {"id": "taken", "creator_id": "ltuser2"}}
    assert (await admin.post(IMPORT, json={"messages": [first]})).status_code == 200
    messages = batch(10_000, random.Random(3))
    messages[9999] = {**messages[9999], **spoil}
    response = await admin.post(IMPORT, json={"messages": messages})
    assert response.status_code == status, response.text[:300]
    assert names in response.json()["message"]
    assert await stored_count(admin, "lt1") == 0
    assert await stored_count(admin, "lt2") == 1


async def test_the_openapi_document_states_the_import_limits(admin: httpx.AsyncClient) -> None:
    document = (await admin.get("/api/openapi.json")).json()
    operation = document["paths"]["/v1/messages:import"]["post"]
    assert operation["requestBody"]["x-max-body-bytes"] == IMPORT_MAX_BODY_BYTES
    assert "16 MiB" in operation["requestBody"]["description"]
    assert f"{MAX_IMPORT_BATCH_SIZE}" in operation["description"]
    assert "413" in operation["responses"]
    topics = document["paths"]["/v1/topics"]["post"]
    assert topics["requestBody"]["x-max-body-bytes"] == 64 * 1024
