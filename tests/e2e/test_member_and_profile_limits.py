"""Topic membership and user fields have limits, enforced by a real `onehub serve` before
anything is stored: every oversized or hostile request is a 400 (INVALID_ARGUMENT over gRPC)
naming the limit and the field, and a later read shows nothing changed. Rows stored before the
limits are served cut, logged once, and can still be edited down."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from onehub.gen.onehub.v1 import models_pb2, topics_pb2, topics_pb2_grpc
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS
from tests.e2e.support import ADMIN_METADATA, set_profile_row, set_topic_members_row
from tests.ports import free_port

from .processes import start_serve, stop, wait_healthy

MARKER = "[truncated by OneHub: the stored content is over the size limit]"


@dataclass
class Serve:
    url: str
    grpc_target: str
    database_url: str
    process: subprocess.Popen[str]

    def stop(self) -> list[str]:
        """Stop the server and return its log (stderr) lines."""
        return stop(self.process)[1].splitlines()


@pytest.fixture
def serve(database_url: str, tmp_path: Path) -> Iterator[Serve]:
    grpc_port, gw_port = free_port(), free_port()
    process = start_serve(
        tmp_path,
        *("--addr", f"127.0.0.1:{grpc_port}", "--gw-addr", f"127.0.0.1:{gw_port}"),
        *("--db-endpoint", database_url),
    )
    running = Serve(f"http://127.0.0.1:{gw_port}", f"127.0.0.1:{grpc_port}", database_url, process)
    try:
        wait_healthy(running.url, process)
        yield running
    finally:
        if process.returncode is None:  # not stopped by the test to read its log
            stop(process)


def _client(serve: Serve, user: str = "admin") -> httpx.Client:
    return httpx.Client(base_url=f"{serve.url}/api", auth=(user, f"{user}123"), timeout=30)


def _refused(response: httpx.Response, *fragments: str) -> None:
    assert response.status_code == 400, response.text[:300]
    message = response.json()["message"]
    for fragment in fragments:
        assert fragment in message, message


def _people(admin: httpx.Client, *user_ids: str) -> None:
    for user_id in user_ids:
        r = admin.post("/v1/users", json={"user": {"id": user_id, "name": user_id.title()}})
        assert r.status_code == 200, r.text


def _everything(client: httpx.Client) -> dict[str, Any]:
    """What a client can see of users and topics."""
    topics = client.get("/v1/topics", params={"pagination.page_size": 1000})
    users = client.get("/v1/users", params={"pagination.page_size": 1000})
    assert topics.status_code == users.status_code == 200
    return {"topics": topics.json()["topics"], "users": users.json()["users"]}


async def _grpc_code(serve: Serve, request: Any, method: str) -> tuple[grpc.StatusCode, str]:
    async with grpc.aio.insecure_channel(serve.grpc_target, options=GRPC_SIZE_OPTIONS) as channel:
        stub = topics_pb2_grpc.TopicServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await getattr(stub, method)(request, metadata=ADMIN_METADATA)
    return refused.value.code(), refused.value.details() or ""


def test_hostile_memberships_are_refused_with_400_and_nothing_changes(serve: Serve) -> None:
    with _client(serve) as admin, _client(serve, "alice") as alice:
        _people(admin, "alice", "bob")
        created = alice.post("/v1/topics", json={"topic": {"base": {"id": "t"}, "name": "T"}})
        assert created.status_code == 200, created.text
        before = _everything(alice)

        many = {f"u{n}": True for n in range(1001)}
        long_ids = {f"{n:03d}" + "x" * 124: True for n in range(260)}  # 33,280 bytes of ids
        for body, fragments in [
            ({"topic": {"name": "big", "users": many}}, ("users:", "at most 1000")),
            ({"topic": {"name": "long", "users": long_ids}}, ("users:", "at most 32768 bytes")),
            ({"topic": {"name": "g", "users": {"ghost": True}}}, ("no user has the id 'ghost'",)),
        ]:
            _refused(alice.post("/v1/topics", json=body), *fragments)
        for body, fragments in [
            ({"addUsers": ["ghost"]}, ("users:", "no user has the id 'ghost'")),
            ({"addUsers": list(many)}, ("add_users:", "at most 1000")),
            ({"addUsers": list(long_ids)}, ("users:", "at most 32768 bytes")),
            (
                {"topic": {"users": {"bob": True, "ghost": True}}, "updateMask": "users"},
                ("no user has the id 'ghost'",),
            ),
        ]:
            _refused(alice.patch("/v1/topics/t", json=body), *fragments)
        assert _everything(alice) == before

        # The same over gRPC: INVALID_ARGUMENT, nothing stored.
        ghostly = models_pb2.Topic(name="g", users={"ghost": True})
        code, detail = asyncio.run(
            _grpc_code(serve, topics_pb2.CreateTopicRequest(topic=ghostly), "CreateTopic")
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert "no user has the id 'ghost'" in detail
        joining = topics_pb2.UpdateTopicRequest(
            topic=models_pb2.Topic(base=models_pb2.MessageBase(id="t")), add_users=["ghost"]
        )
        code, _ = asyncio.run(_grpc_code(serve, joining, "UpdateTopic"))
        assert code is grpc.StatusCode.INVALID_ARGUMENT
        assert _everything(alice) == before

        # Existing users join; the caller may name itself.
        joined = alice.patch("/v1/topics/t", json={"addUsers": ["bob", "alice"]})
        assert joined.status_code == 200, joined.text
        assert joined.json()["topic"]["users"] == {"alice": True, "bob": True}


def test_topics_stored_over_the_member_limit_are_served_cut_and_may_only_shrink(
    serve: Serve,
) -> None:
    crowd = [f"m{n:04d}" for n in range(1500)]
    with _client(serve) as admin, _client(serve, "alice") as alice:
        _people(admin, "alice")
        for topic_id in ("full", "old"):
            r = alice.post("/v1/topics", json={"topic": {"base": {"id": topic_id}, "name": "x"}})
            assert r.status_code == 200, r.text
        asyncio.run(set_topic_members_row(serve.database_url, "full", crowd[:1000]))
        asyncio.run(set_topic_members_row(serve.database_url, "old", crowd))

        full = alice.get("/v1/topics/full").json()
        _refused(
            alice.patch("/v1/topics/full", json={"addUsers": ["alice"]}),
            "users: a topic may have at most 1000 members; this one would have 1001",
        )
        assert alice.get("/v1/topics/full").json() == full

        for _ in range(3):
            old = alice.get("/v1/topics/old")
            assert old.status_code == 200, old.text[:300]
            assert sorted(old.json()["topic"]["users"]) == crowd[:1000]
        listed = alice.get("/v1/topics").json()["topics"]
        batch = alice.get("/v1/topics:batchGet", params={"ids": ["old"]}).json()["topics"]
        assert [len(t["users"]) for t in listed] == [1000, 1000]
        assert len(batch["old"]["users"]) == 1000

        shrunk = alice.patch("/v1/topics/old", json={"removeUsers": crowd[:600]})
        assert shrunk.status_code == 200, shrunk.text[:300]
        assert sorted(shrunk.json()["topic"]["users"]) == crowd[600:]
    logs = serve.stop()
    reports = [line for line in logs if "topic 'old' is stored with" in line]
    assert len(reports) == 1, logs[-20:]


def test_oversized_user_fields_are_refused_and_old_profiles_served_cut(serve: Serve) -> None:
    with _client(serve) as admin, _client(serve, "alice") as alice:
        _people(admin, "alice")
        before = _everything(alice)
        big = {"bio": "x" * 32 * 1024}
        _refused(
            admin.post("/v1/users", json={"user": {"id": "v", "name": "V", "profileData": big}}),
            "profile_data takes",
            "at most 32768 bytes",
        )
        for user, mask, fragment in [
            ({"profileData": big}, "profileData", "at most 32768 bytes"),
            ({"avatar": "a" * 2049}, "avatar", "avatar is longer than 2048 characters"),
            ({"name": "n" * 257}, "name", "user name is longer than 256 characters"),
        ]:
            r = alice.patch("/v1/users/alice", json={"user": user, "updateMask": mask})
            _refused(r, fragment)
        _refused(
            alice.post("/v1/topics", json={"topic": {"name": "n" * 257}}),
            "topic name is longer than 256 characters",
        )
        assert _everything(alice) == before

        legacy = {"a": "x" * 20_000, "b": "y" * 20_000}
        asyncio.run(set_profile_row(serve.database_url, "alice", legacy))
        cut = {"a": "x" * 20_000, "truncatedByOneHub": MARKER}
        for _ in range(3):
            assert alice.get("/v1/users/alice").json()["user"]["profileData"] == cut
        batch = alice.get("/v1/users:batchGet", params={"ids": ["alice"]}).json()
        assert batch["users"]["alice"]["profileData"] == cut
        renamed = alice.patch(
            "/v1/users/alice", json={"user": {"name": "Alice B."}, "updateMask": "name"}
        )
        assert renamed.status_code == 200, renamed.text[:300]
        assert renamed.json()["user"]["profileData"] == cut
    logs = serve.stop()
    reports = [line for line in logs if "user 'alice' is stored with" in line]
    assert len(reports) == 1, logs[-20:]
