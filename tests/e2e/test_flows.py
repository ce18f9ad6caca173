"""The original clients' flows, end to end over REST on the real stack (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import grpc
import httpx

from onehub.app import RunningOneHub
from onehub.gen.onehub.v1 import topics_pb2, topics_pb2_grpc


async def test_load_script_flow(
    api: httpx.AsyncClient, as_user: Callable[[str], httpx.AsyncClient]
) -> None:
    # As the original's load script: admin creates users, then seeds a topic and messages with
    # creators of its choosing (allow_userids), then users talk for themselves.
    for uid, name in [("alice", "Alice"), ("bob", "Bob")]:
        r = await api.post("/api/v1/users", json={"user": {"id": uid, "name": name}})
        assert r.status_code == 200, r.text
        assert r.json()["user"]["id"] == uid
    r = await api.post(
        "/api/v1/topics",
        json={
            "topic": {"base": {"id": "t1"}, "name": "Lunch", "users": {"alice": True, "bob": True}}
        },
    )
    assert r.status_code == 200, r.text
    topic = r.json()["topic"]
    assert topic["base"]["creatorId"] == "admin"
    assert topic["users"] == {"alice": True, "bob": True}

    seeded = await api.post(
        "/api/v1/topics/t1/messages",
        json={
            "allow_userids": True,
            "messages": [
                {
                    "base": {"creatorId": "alice"},
                    "contentBase": {"contentType": "text/plain", "contentText": "noodles?"},
                },
                {"base": {"creator_id": "bob"}, "content_base": {"content_text": "yes, noodles"}},
            ],
        },
    )
    assert seeded.status_code == 200, seeded.text
    assert [m["base"]["creatorId"] for m in seeded.json()["messages"]] == ["alice", "bob"]

    alice = as_user("alice")
    own = await alice.post(
        "/v1/topics/t1/messages",
        json={
            "messages": [{"base": {"creatorId": "bob"}, "contentBase": {"contentText": "I pay"}}],
            "allowUserids": True,
        },
    )
    assert own.status_code == 200, own.text
    # Only admin keeps the creator ids it sends: alice's message is alice's.
    assert own.json()["messages"][0]["base"]["creatorId"] == "alice"

    listed = (await alice.get("/api/v1/topics/t1/messages")).json()
    assert [m["contentBase"]["contentText"] for m in listed["messages"]] == [
        "noodles?",
        "yes, noodles",
        "I pay",
    ]
    assert listed["pagination"] == {
        "nextPageKey": "",
        "hasMoreResults": False,
        "totalNumResults": 3,
    }

    found = (await alice.get("/api/v1/messages", params={"search_phrase": "noodles"})).json()
    assert sorted(m["contentBase"]["contentText"] for m in found["messages"]) == [
        "noodles?",
        "yes, noodles",
    ]


async def test_unpopulated_fields_are_emitted(api: httpx.AsyncClient) -> None:
    r = await api.post("/api/v1/topics", json={"topic": {"name": "quiet"}})
    topic = r.json()["topic"]
    assert topic["users"] == {}
    assert set(topic["base"]) == {"createdAt", "updatedAt", "id", "creatorId"}
    assert topic["base"]["createdAt"].endswith("Z")


async def test_update_delete_and_cascade(
    api: httpx.AsyncClient, as_user: Callable[[str], httpx.AsyncClient]
) -> None:
    for uid, name in [("carol", "Carol"), ("dave", "Dave")]:
        await api.post("/v1/users", json={"user": {"id": uid, "name": name}})
    carol = as_user("carol")
    topic = (await carol.post("/v1/topics", json={"topic": {"name": "books"}})).json()["topic"]
    tid = topic["base"]["id"]
    sent = await carol.post(
        f"/v1/topics/{tid}/messages", json={"messages": [{"contentBase": {"contentText": "Dune"}}]}
    )
    mid = sent.json()["messages"][0]["base"]["id"]

    renamed = await carol.patch(
        f"/v1/topics/{tid}",
        json={"topic": {"name": "novels"}, "update_mask": "name", "add_users": ["dave"]},
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["topic"]["name"] == "novels"
    assert renamed.json()["topic"]["users"] == {"dave": True}

    appended = await carol.patch(
        f"/v1/messages/{mid}",
        json={
            "message": {"contentBase": {"contentText": " Messiah"}},
            "appendMask": "contentBase.contentText",
        },
    )
    assert appended.status_code == 200, appended.text
    assert appended.json()["message"]["contentBase"]["contentText"] == "Dune Messiah"

    # Someone else may not delete carol's topic; admin may.
    eve = as_user("eve")
    assert (await eve.delete(f"/v1/topics/{tid}")).status_code == 403
    assert (await api.delete(f"/api/v1/topics/{tid}")).status_code == 200
    gone = await api.get(f"/v1/messages/{mid}")
    assert gone.status_code == 404
    assert gone.json()["code"] == grpc.StatusCode.NOT_FOUND.value[0]


async def test_batch_get_returns_only_existing(api: httpx.AsyncClient) -> None:
    for name in ("a", "b"):
        await api.post("/v1/topics", json={"topic": {"base": {"id": name}, "name": name}})
    r = await api.get(
        "/v1/topics:batchGet", params=[("ids", "a"), ("ids", "b"), ("ids", "missing")]
    )
    assert r.status_code == 200, r.text
    assert sorted(r.json()["topics"]) == ["a", "b"]


async def test_rest_and_grpc_see_the_same_data(hub: RunningOneHub, api: httpx.AsyncClient) -> None:
    await api.post("/v1/topics", json={"topic": {"base": {"id": "shared"}, "name": "Shared"}})
    async with grpc.aio.insecure_channel(hub.grpc_target) as channel:
        stub = topics_pb2_grpc.TopicServiceStub(channel)
        reply = await stub.GetTopic(
            topics_pb2.GetTopicRequest(id="shared"),
            metadata=(("onehubusername", "admin"), ("onehubpassword", "admin123")),
        )
    assert reply.topic.name == "Shared"
    assert reply.topic.base.creator_id == "admin"


async def test_two_writers_on_one_topic_lose_nothing(api: httpx.AsyncClient) -> None:
    await api.post("/v1/topics", json={"topic": {"base": {"id": "busy"}, "name": "Busy"}})

    async def writer(tag: str) -> None:
        for i in range(15):
            r = await api.post(
                "/v1/topics/busy/messages",
                json={"messages": [{"contentBase": {"contentText": f"{tag}{i}"}}]},
            )
            assert r.status_code == 200, r.text

    await asyncio.gather(writer("a"), writer("b"))
    seen: list[str] = []
    key = ""
    while True:
        page = (
            await api.get(
                "/v1/topics/busy/messages",
                params={"pagination.page_size": 7, "pagination.page_key": key},
            )
        ).json()
        seen += [m["contentBase"]["contentText"] for m in page["messages"]]
        key = page["pagination"]["nextPageKey"]
        if not key:
            break
    assert sorted(seen) == sorted([f"a{i}" for i in range(15)] + [f"b{i}" for i in range(15)])


async def test_paging_while_others_write_skips_and_repeats_nothing(api: httpx.AsyncClient) -> None:
    for i in range(30):
        await api.post(
            "/v1/topics", json={"topic": {"base": {"id": f"t{i:02}"}, "name": f"topic {i:02}"}}
        )
    original = {f"t{i:02}" for i in range(30)}
    seen: list[str] = []
    key = ""
    extra = 0
    while True:
        page = (
            await api.get(
                "/v1/topics", params={"pagination.page_size": 4, "pagination.page_key": key}
            )
        ).json()
        seen += [t["base"]["id"] for t in page["topics"]]
        # Others write between our pages: new topics sorting before and after the cursor.
        for name in (f"topic 00-{extra}", f"zz {extra}"):
            await api.post(
                "/v1/topics",
                json={"topic": {"base": {"id": f"x{extra}-{len(name)}"}, "name": name}},
            )
        extra += 1
        key = page["pagination"]["nextPageKey"]
        if not key:
            break
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert original <= set(seen), "a row that existed throughout was skipped"
