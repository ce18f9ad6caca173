"""Message content has a size limit (32 KiB of text and content_data together), enforced before
anything is stored, after appends too; rows stored before the limit never break a read."""

from __future__ import annotations

from typing import Any

import grpc
import httpx
import pytest

from onehub.app import RunningOneHub
from onehub.gen.onehub.v1 import messages_pb2, messages_pb2_grpc, models_pb2
from tests.e2e.support import ADMIN_METADATA, grpc_channel, insert_message_row

LIMIT = 32 * 1024
MARKER = "[truncated by OneHub: the stored content is over the size limit]"


def _message(text: str, data: dict[str, object] | None = None, mid: str = "") -> dict[str, object]:
    content: dict[str, object] = {"contentText": text}
    if data is not None:
        content["contentData"] = data
    return {"base": {"id": mid}, "contentBase": content} if mid else {"contentBase": content}


@pytest.fixture
async def topic(api: httpx.AsyncClient) -> str:
    r = await api.post("/v1/topics", json={"topic": {"base": {"id": "t"}, "name": "T"}})
    assert r.status_code == 200, r.text
    return "t"


async def _messages(api: httpx.AsyncClient, topic: str) -> list[Any]:
    r = await api.get(f"/v1/topics/{topic}/messages", params={"pagination.page_size": 1000})
    assert r.status_code == 200, r.text
    found: list[Any] = r.json()["messages"]
    return found


async def test_content_over_32_kib_is_refused_with_400_and_nothing_stored(
    api: httpx.AsyncClient, topic: str
) -> None:
    fits = await api.post(
        f"/v1/topics/{topic}/messages", json={"messages": [_message("x" * LIMIT)]}
    )
    assert fits.status_code == 200, fits.text[:300]
    too_large = [
        _message("x" * (LIMIT + 1)),
        _message("é" * (LIMIT // 2 + 1)),  # 16,385 characters, 32,770 bytes of UTF-8
        _message("x" * (LIMIT - 100), {"note": "y" * 200}),  # the data counts too
    ]
    for message in too_large:
        r = await api.post(f"/v1/topics/{topic}/messages", json={"messages": [message]})
        assert r.status_code == 400, r.text[:300]
        assert "at most 32768 bytes" in r.json()["message"]
        r = await api.post(
            "/v1/messages:import",
            json={"messages": [{**message, "topicId": topic, "base": {"creatorId": "admin"}}]},
        )
        assert r.status_code == 400, r.text[:300]
        assert "32768" in r.json()["message"]
    assert len(await _messages(api, topic)) == 1


async def test_appends_past_the_limit_are_refused_and_commit_nothing(
    api: httpx.AsyncClient, topic: str
) -> None:
    created = await api.post(
        f"/v1/topics/{topic}/messages", json={"messages": [_message("a" * 20_000, mid="m")]}
    )
    assert created.status_code == 200, created.text[:300]
    before = (await api.get("/v1/messages/m")).json()["message"]

    for _ in range(3):
        r = await api.patch(
            "/v1/messages/m",
            json={
                "message": {"contentBase": {"contentText": "b" * 20_000}},
                "appendMask": "contentBase.contentText",
            },
        )
        assert r.status_code == 400, r.text[:300]
        assert "at most 32768 bytes" in r.json()["message"]
    r = await api.patch(
        "/v1/messages/m",
        json={
            "message": {"contentBase": {"contentData": {"k": "c" * 13_000}}},
            "appendMask": "contentBase.contentData",
        },
    )
    assert r.status_code == 400, r.text[:300]
    assert (await api.get("/v1/messages/m")).json()["message"] == before

    # Appending up to the limit exactly is fine.
    r = await api.patch(
        "/v1/messages/m",
        json={
            "message": {"contentBase": {"contentText": "b" * (LIMIT - 20_000)}},
            "appendMask": "contentBase.contentText",
        },
    )
    assert r.status_code == 200, r.text[:300]
    assert len(r.json()["message"]["contentBase"]["contentText"]) == LIMIT


async def test_grpc_refuses_oversized_content_with_invalid_argument(
    hub: RunningOneHub, api: httpx.AsyncClient, topic: str
) -> None:
    async with grpc_channel(hub) as channel:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        big = models_pb2.Message(
            content_base=models_pb2.ContentBase(content_text="x" * (LIMIT + 1))
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await stub.CreateMessages(
                messages_pb2.CreateMessagesRequest(topic_id=topic, messages=[big]),
                metadata=ADMIN_METADATA,
            )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "32768" in (refused.value.details() or "")
    assert await _messages(api, topic) == []


async def test_oversized_rows_stored_before_are_served_cut_and_marked(
    hub: RunningOneHub, api: httpx.AsyncClient, topic: str, database_url: str
) -> None:
    # Five 1 MB rows (a page of them above gRPC's default 4 MiB, where reads used to fail);
    # served cut, a page of 1,000 such rows could never exceed the 64 MiB limit either.
    for i in range(5):
        await insert_message_row(database_url, f"old{i}", topic, f"{i}" + "x" * 1_000_000)
    await insert_message_row(database_url, "deep-and-big", topic, "y" * 100, {"k": "z" * 50_000})
    later = await api.post(
        f"/v1/topics/{topic}/messages", json={"messages": [_message("after", mid="new")]}
    )
    assert later.status_code == 200, later.text[:300]

    listed = await _messages(api, topic)
    assert [m["base"]["id"] for m in listed] == [
        *(f"old{i}" for i in range(5)),
        "deep-and-big",
        "new",
    ]
    for message in listed[:5]:
        text: str = message["contentBase"]["contentText"]
        assert text.endswith(MARKER)
        assert len(text.encode()) <= LIMIT
    too_much_data = listed[5]["contentBase"]
    assert "contentData" not in too_much_data or too_much_data["contentData"] is None
    assert too_much_data["contentText"].startswith("y" * 100)
    assert too_much_data["contentText"].endswith(MARKER)
    assert listed[6]["contentBase"]["contentText"] == "after"

    # Paging one by one reaches every message.
    seen, key = [], ""
    while True:
        r = await api.get(
            f"/v1/topics/{topic}/messages",
            params={"pagination.page_size": 2, "pagination.page_key": key},
        )
        assert r.status_code == 200, r.text[:300]
        seen += [m["base"]["id"] for m in r.json()["messages"]]
        key = r.json()["pagination"]["nextPageKey"]
        if not key:
            break
    assert seen == [m["base"]["id"] for m in listed]

    got = await api.get("/v1/messages/old3")
    assert got.status_code == 200, got.text[:300]
    assert got.json()["message"]["contentBase"]["contentText"].startswith("3xxx")
    searched = await api.get("/v1/messages", params={"pagination.page_size": 1000})
    assert searched.status_code == 200, searched.text[:300]
    assert len(searched.json()["messages"]) == 7

    async with grpc_channel(hub) as channel:
        stub = messages_pb2_grpc.MessageServiceStub(channel)
        page = await stub.ListMessages(
            messages_pb2.ListMessagesRequest(
                topic_id=topic, pagination=models_pb2.Pagination(page_size=1000)
            ),
            metadata=ADMIN_METADATA,
        )
        one = await stub.GetMessage(
            messages_pb2.GetMessageRequest(id="old0"), metadata=ADMIN_METADATA
        )
    assert len(page.messages) == 7
    assert one.message.content_base.content_text.endswith(MARKER)

    # Replacing the content of an old message makes it whole again; appending to it is refused.
    r = await api.patch(
        "/v1/messages/old0",
        json={
            "message": {"contentBase": {"contentText": "!"}},
            "appendMask": "contentBase.contentText",
        },
    )
    assert r.status_code == 400, r.text[:300]
    r = await api.patch(
        "/v1/messages/old0",
        json={
            "message": {"contentBase": {"contentText": "short"}},
            "updateMask": "contentBase.contentText",
        },
    )
    assert r.status_code == 200, r.text[:300]
    assert (await api.get("/v1/messages/old0")).json()["message"]["contentBase"][
        "contentText"
    ] == "short"
