"""Free-form JSON (profile_data, content_data) may nest at most 30 levels: deeper is refused
before it is stored (400 at the gateway, INVALID_ARGUMENT from the service), and a too-deep
value already in the database is served cut, never as a failed read."""

from __future__ import annotations

import logging
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.struct_pb2 import Struct

from onehub.app import RunningOneHub
from onehub.gen.onehub.v1 import (
    messages_pb2,
    messages_pb2_grpc,
    models_pb2,
    users_pb2,
    users_pb2_grpc,
)
from tests.e2e.support import (
    ADMIN_METADATA,
    depth_of,
    grpc_channel,
    insert_message_row,
    nested,
    set_profile_row,
)

LIMIT = 30


@pytest.fixture
async def alice(api: httpx.AsyncClient) -> httpx.AsyncClient:
    r = await api.post("/v1/users", json={"user": {"id": "alice", "name": "Alice"}})
    assert r.status_code == 200, r.text
    r = await api.post("/v1/topics", json={"topic": {"base": {"id": "t"}, "name": "T"}})
    assert r.status_code == 200, r.text
    return api


async def _batch_profile(api: httpx.AsyncClient) -> Any:
    r = await api.get("/v1/users:batchGet", params={"ids": "alice"})
    assert r.status_code == 200, r.text[:300]
    return r.json()["users"]["alice"].get("profileData")


def _struct(value: dict[str, Any]) -> Struct:
    struct = Struct()
    struct.update(value)
    return struct


async def test_rest_refuses_profiles_deeper_than_the_limit_and_keeps_the_old_one(
    alice: httpx.AsyncClient,
) -> None:
    ok = await alice.patch(
        "/v1/users/alice",
        json={"user": {"profileData": nested(LIMIT)}, "updateMask": "profileData"},
    )
    assert ok.status_code == 200, ok.text[:300]
    assert depth_of(await _batch_profile(alice)) == LIMIT

    for depth in (LIMIT + 1, 33, 40, 48):
        r = await alice.patch(
            "/v1/users/alice",
            json={"user": {"profileData": nested(depth)}, "updateMask": "profileData"},
        )
        assert r.status_code == 400, r.text[:300]
        assert r.json()["message"] == (
            f"user.profileData is nested {depth} levels deep; "
            f"at most {LIMIT} levels of objects and arrays are allowed"
        )
        r = await alice.post(
            "/v1/users",
            json={"user": {"id": f"deep{depth}", "name": "D", "profileData": nested(depth)}},
        )
        assert r.status_code == 400, r.text[:300]
    assert depth_of(await _batch_profile(alice)) == LIMIT
    assert (await alice.get("/v1/users/deep33")).status_code == 404


async def test_rest_refuses_content_data_deeper_than_the_limit(alice: httpx.AsyncClient) -> None:
    arrays: Any = 1
    for _ in range(LIMIT):
        arrays = [arrays]
    for data, status in [
        (nested(LIMIT), 200),
        (nested(LIMIT + 1), 400),
        ({"list": arrays}, 400),  # arrays count as levels too: 1 + 30
        ({"list": arrays[0]}, 200),
    ]:
        r = await alice.post(
            "/v1/topics/t/messages",
            json={"messages": [{"contentBase": {"contentData": data}}]},
        )
        assert r.status_code == status, r.text[:300]
    created = await alice.post(
        "/v1/topics/t/messages", json={"messages": [{"base": {"id": "m"}, "contentBase": {}}]}
    )
    assert created.status_code == 200
    r = await alice.patch(
        "/v1/messages/m",
        json={
            "message": {"contentBase": {"contentData": nested(LIMIT + 1)}},
            "appendMask": "contentBase.contentData",
        },
    )
    assert r.status_code == 400, r.text[:300]
    assert "message.contentBase.contentData is nested 31 levels deep" in r.json()["message"]
    listed = await alice.get("/v1/topics/t/messages")
    assert listed.status_code == 200
    assert len(listed.json()["messages"]) == 3


async def test_grpc_refuses_too_deep_json_with_invalid_argument(
    hub: RunningOneHub, alice: httpx.AsyncClient
) -> None:
    async with grpc_channel(hub) as channel:
        users = users_pb2_grpc.UserServiceStub(channel)
        messages = messages_pb2_grpc.MessageServiceStub(channel)
        await users.UpdateUser(
            users_pb2.UpdateUserRequest(
                user=models_pb2.User(id="alice", profile_data=_struct(nested(LIMIT))),
                update_mask={"paths": ["profile_data"]},
            ),
            metadata=ADMIN_METADATA,
        )
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await users.UpdateUser(
                users_pb2.UpdateUserRequest(
                    user=models_pb2.User(id="alice", profile_data=_struct(nested(LIMIT + 1))),
                    update_mask={"paths": ["profile_data"]},
                ),
                metadata=ADMIN_METADATA,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "profile_data is nested 31 levels deep" in (refused.value.details() or "")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await messages.CreateMessages(
                messages_pb2.CreateMessagesRequest(
                    topic_id="t",
                    messages=[
                        models_pb2.Message(
                            content_base=models_pb2.ContentBase(
                                content_data=_struct(nested(LIMIT + 1))
                            )
                        )
                    ],
                ),
                metadata=ADMIN_METADATA,
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        batch = await users.GetUsers(
            users_pb2.GetUsersRequest(ids=["alice"]), metadata=ADMIN_METADATA
        )
    assert depth_of(json_format.MessageToDict(batch.users["alice"].profile_data)) == LIMIT
    assert depth_of(await _batch_profile(alice)) == LIMIT


async def test_too_deep_json_stored_before_is_served_cut_over_rest_and_grpc(
    hub: RunningOneHub,
    alice: httpx.AsyncClient,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="onehub.services.content")
    await set_profile_row(database_url, "alice", nested(40))
    await insert_message_row(database_url, "deep", "t", "hello", nested(45))

    for path in ("/v1/users/alice", "/v1/users:batchGet?ids=alice", "/v1/users"):
        r = await alice.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    profile = await _batch_profile(alice)
    assert depth_of(profile) == LIMIT
    innermost = profile
    for _ in range(LIMIT - 1):
        innermost = innermost["a"]
    assert innermost == {"a": None}  # the cut subtree is null

    for path in ("/v1/messages/deep", "/v1/topics/t/messages", "/v1/messages"):
        r = await alice.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    got = (await alice.get("/v1/messages/deep")).json()["message"]["contentBase"]
    assert depth_of(got["contentData"]) == LIMIT
    assert got["contentText"] == "hello"

    async with grpc_channel(hub) as channel:
        users = users_pb2_grpc.UserServiceStub(channel)
        messages = messages_pb2_grpc.MessageServiceStub(channel)
        one = await users.GetUser(users_pb2.GetUserRequest(id="alice"), metadata=ADMIN_METADATA)
        batch = await users.GetUsers(
            users_pb2.GetUsersRequest(ids=["alice"]), metadata=ADMIN_METADATA
        )
        page = await messages.ListMessages(
            messages_pb2.ListMessagesRequest(topic_id="t"), metadata=ADMIN_METADATA
        )
        found = await messages.GetMessages(
            messages_pb2.GetMessagesRequest(ids=["deep"]), metadata=ADMIN_METADATA
        )
    assert one.user.profile_data == batch.users["alice"].profile_data
    assert [m.base.id for m in page.messages] == ["deep"]
    assert "deep" in found.messages

    warnings = [r for r in caplog.records if "'alice'" in r.getMessage()]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "deeper than 30" in warnings[0].getMessage()


def _length_delimited(tag: int, body: bytes) -> bytes:
    size, varint = len(body), bytearray()
    while True:
        byte, size = size & 0x7F, size >> 7
        varint.append(byte | (0x80 if size else 0))
        if not size:
            return bytes([tag]) + bytes(varint) + body


def _deep_update_user_request(levels: int) -> bytes:
    """UpdateUserRequest{user{id: "alice", profile_data: <levels objects>}}, encoded by hand:
    protobuf's Python runtime cannot even build a message this deep."""
    value = b"\x11" + b"\x00" * 8  # Value{number_value: 0}
    struct = b""
    for _ in range(levels):
        entry = _length_delimited(0x0A, b"a") + _length_delimited(0x12, value)
        struct = _length_delimited(0x0A, entry)  # Struct{fields: {"a": value}}
        value = _length_delimited(0x2A, struct)  # Value{struct_value: struct}
    user = _length_delimited(0x1A, b"alice") + _length_delimited(0x32, struct)  # id = 3
    mask = _length_delimited(0x0A, b"profile_data")
    return _length_delimited(0x0A, user) + _length_delimited(0x12, mask)


async def test_grpc_requests_too_deep_to_decode_are_invalid_argument(
    hub: RunningOneHub, alice: httpx.AsyncClient
) -> None:
    async with grpc_channel(hub) as channel:
        update = channel.unary_unary(
            "/onehub.v1.UserService/UpdateUser",
            request_serializer=lambda raw: raw,
            response_deserializer=users_pb2.UpdateUserResponse.FromString,
        )
        accepted = await update(_deep_update_user_request(LIMIT), metadata=ADMIN_METADATA)
        assert depth_of(json_format.MessageToDict(accepted.user.profile_data)) == LIMIT
        for levels in (LIMIT + 1, 40, 100):
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await update(_deep_update_user_request(levels), metadata=ADMIN_METADATA)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, levels
            assert "30 levels" in (refused.value.details() or "")
    assert depth_of(await _batch_profile(alice)) == LIMIT
