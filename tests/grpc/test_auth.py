"""Authentication over gRPC: the original's metadata keys, HTTP Basic, and the two checkers."""

from __future__ import annotations

import base64
import logging

import grpc
import pytest
from argon2 import PasswordHasher

from onehub.domain.models import Principal, User
from onehub.gen.onehub.v1 import models_pb2, topics_pb2, users_pb2
from onehub.services.auth import Authenticator, PasswordChecker
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory

from .conftest import ADMIN, Hub, StartHub, creds


def basic(user: str, password: str) -> tuple[tuple[str, str]]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return (("authorization", f"Basic {token}"),)


async def create_topic(hub: Hub, metadata: object) -> topics_pb2.CreateTopicResponse:
    request = topics_pb2.CreateTopicRequest(topic=models_pb2.Topic(name="t"))
    return await hub.topics.CreateTopic(request, metadata=metadata)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("metadata", "detail"),
    [
        ((), "missing credentials"),
        ((("onehubusername", "alice"),), "missing credentials"),
        (creds("alice", "alice124"), "invalid username or password"),
        (creds("alice", "ALICE123"), "invalid username or password"),
        (basic("alice", "nope"), "invalid username or password"),
        ((("authorization", "Basic !!!not base64"),), "malformed Basic authorization"),
        ((("authorization", "Basic " + base64.b64encode(b"no-colon").decode()),), "malformed"),
        ((("authorization", "Bearer abc.def"),), "unsupported authorization scheme"),
    ],
)
async def test_missing_or_wrong_credentials_are_unauthenticated(
    hub: Hub, metadata: tuple[tuple[str, str], ...], detail: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await create_topic(hub, metadata)
    assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED
    assert detail in (refused.value.details() or "")
    listed = await hub.topics.ListTopics(topics_pb2.ListTopicsRequest(), metadata=ADMIN)
    assert list(listed.topics) == []


async def test_onehub_keys_and_basic_both_identify_the_caller(hub: Hub) -> None:
    by_keys = await create_topic(hub, creds("alice"))
    by_basic = await create_topic(hub, basic("bob", "bob123"))

    assert by_keys.topic.base.creator_id == "alice"
    assert by_basic.topic.base.creator_id == "bob"


async def test_password_mode_uses_the_stored_hashes(start_hub: StartHub) -> None:
    hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    uow_factory = memory_uow_factory(InMemoryDatabase())
    hub = await start_hub(uow_factory, Authenticator(PasswordChecker(uow_factory, hasher)))
    # The CLI's path: straight to the service, as admin.
    await hub.services.users.create_user(Principal("admin"), User(id="admin", name="Admin"))
    await hub.services.users.set_password(Principal("admin"), "admin", "a long secret")

    reply = await hub.users.GetUser(
        users_pb2.GetUserRequest(id="admin"), metadata=basic("admin", "a long secret")
    )
    assert reply.user.name == "Admin"
    for metadata in [ADMIN, basic("admin", "wrong secret"), creds("ghost", "a long secret")]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await hub.users.GetUser(users_pb2.GetUserRequest(id="admin"), metadata=metadata)
        assert refused.value.code() is grpc.StatusCode.UNAUTHENTICATED


async def test_no_credential_reaches_logs_or_error_messages(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = "zebra-secret-42"
    failures: list[str] = []
    for metadata in [creds("alice", secret), basic("alice", secret), basic(secret, secret)]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await create_topic(hub, metadata)
        failures.append(str(refused.value))
    await create_topic(hub, creds("alice"))
    with pytest.raises(grpc.aio.AioRpcError):
        await hub.topics.GetTopic(topics_pb2.GetTopicRequest(id="ghost"), metadata=creds("alice"))

    assert caplog.records  # the server did log (grpc, asyncio); none of it may leak
    for text in [caplog.text, *failures]:
        assert secret not in text
        assert "alice123" not in text
