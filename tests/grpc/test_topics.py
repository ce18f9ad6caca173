"""TopicService through the generated stubs on a real server."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from onehub.gen.onehub.v1 import models_pb2, users_pb2
from onehub.gen.onehub.v1 import topics_pb2 as pb

from ..services.racing import RacingUowFactory
from .conftest import ADMIN, ALICE, BOB, Hub


async def create(
    hub: Hub, name: str = "general", metadata: object = ALICE, **base: str
) -> models_pb2.Topic:
    topic = models_pb2.Topic(name=name, base=models_pb2.MessageBase(**base))
    reply = await hub.topics.CreateTopic(pb.CreateTopicRequest(topic=topic), metadata=metadata)  # type: ignore[arg-type]
    return reply.topic


async def people(hub: Hub, *user_ids: str) -> None:
    """Create the users a test names as members (members must be existing users)."""
    for user_id in user_ids:
        user = models_pb2.User(id=user_id, name=user_id.title())
        await hub.users.CreateUser(users_pb2.CreateUserRequest(user=user), metadata=ADMIN)


async def status_of(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await call  # type: ignore[misc]
    return failed.value.code(), failed.value.details() or ""


async def test_create_get_and_batch_get(hub: Hub) -> None:
    await people(hub, "alice")
    created = await create(hub, creator_id="someone-else")
    members = models_pb2.Topic(name="m", users={"alice": True, "bob": True, "gone": False})
    with_members = (
        await hub.topics.CreateTopic(pb.CreateTopicRequest(topic=members), metadata=BOB)
    ).topic

    fetched = await hub.topics.GetTopic(pb.GetTopicRequest(id=created.base.id), metadata=BOB)
    batch = await hub.topics.GetTopics(
        pb.GetTopicsRequest(ids=[created.base.id, "missing", with_members.base.id]), metadata=BOB
    )

    assert created.base.creator_id == "alice"
    assert len(created.base.id) >= 8
    assert created.base.created_at.seconds > 0
    assert fetched.topic == created
    assert dict(with_members.users) == {"alice": True, "bob": True}
    assert set(batch.topics) == {created.base.id, with_members.base.id}


async def test_create_errors(hub: Hub) -> None:
    await create(hub, id="fixed")
    assert await status_of(create(hub, id="fixed")) == (
        grpc.StatusCode.ALREADY_EXISTS,
        "topic 'fixed' already exists",
    )
    code, detail = await status_of(create(hub, name=""))
    assert (code, detail) == (grpc.StatusCode.INVALID_ARGUMENT, "topic name is required")
    code, _ = await status_of(create(hub, id="a/b"))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_list_pages_and_absurd_page_sizes(hub: Hub) -> None:
    for name in ["c", "a", "b"]:
        await create(hub, name)

    first = await hub.topics.ListTopics(
        pb.ListTopicsRequest(pagination=models_pb2.Pagination(page_size=2)), metadata=BOB
    )
    second = await hub.topics.ListTopics(
        pb.ListTopicsRequest(
            pagination=models_pb2.Pagination(page_key=first.pagination.next_page_key, page_size=2)
        ),
        metadata=BOB,
    )
    huge = await hub.topics.ListTopics(
        pb.ListTopicsRequest(pagination=models_pb2.Pagination(page_size=2**31 - 1)), metadata=BOB
    )

    assert [t.name for t in first.topics] == ["a", "b"]
    assert first.pagination.has_more_results
    assert first.pagination.total_num_results == 3
    assert [t.name for t in second.topics] == ["c"]
    assert second.pagination.next_page_key == ""
    assert not second.pagination.has_more_results
    assert len(huge.topics) == 3
    for pagination in [models_pb2.Pagination(page_size=-1), models_pb2.Pagination(page_key="💥")]:
        code, _ = await status_of(
            hub.topics.ListTopics(pb.ListTopicsRequest(pagination=pagination), metadata=BOB)
        )
        assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_update_with_masks_and_membership(hub: Hub) -> None:
    await people(hub, "bob", "carol")
    topic = await create(hub, "old")
    renamed = await hub.topics.UpdateTopic(
        pb.UpdateTopicRequest(
            topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id), name="new"),
            update_mask=FieldMask(paths=["name"]),
            add_users=["bob", "carol"],
        ),
        metadata=ALICE,
    )
    left = await hub.topics.UpdateTopic(
        pb.UpdateTopicRequest(
            topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id)),
            remove_users=["carol"],
        ),
        metadata=ADMIN,
    )

    assert renamed.topic.name == "new"
    assert dict(renamed.topic.users) == {"bob": True, "carol": True}
    assert dict(left.topic.users) == {"bob": True}
    assert left.topic.base.updated_at.ToDatetime() >= renamed.topic.base.updated_at.ToDatetime()

    for request, expected in [
        (
            pb.UpdateTopicRequest(
                topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id))
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            pb.UpdateTopicRequest(
                topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id)),
                update_mask=FieldMask(paths=["base.creator_id"]),
            ),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            pb.UpdateTopicRequest(
                topic=models_pb2.Topic(base=models_pb2.MessageBase(id="ghost"), name="x"),
                update_mask=FieldMask(paths=["name"]),
            ),
            grpc.StatusCode.NOT_FOUND,
        ),
    ]:
        code, _ = await status_of(hub.topics.UpdateTopic(request, metadata=ALICE))
        assert code is expected


async def test_only_creator_or_admin_may_update_or_delete(hub: Hub) -> None:
    topic = await create(hub)
    rename = pb.UpdateTopicRequest(
        topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id), name="mine"),
        update_mask=FieldMask(paths=["*"]),
    )
    assert (await status_of(hub.topics.UpdateTopic(rename, metadata=BOB)))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED
    delete = pb.DeleteTopicRequest(id=topic.base.id)
    assert (await status_of(hub.topics.DeleteTopic(delete, metadata=BOB)))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED

    await hub.topics.DeleteTopic(delete, metadata=ADMIN)
    assert (
        await status_of(hub.topics.GetTopic(pb.GetTopicRequest(id=topic.base.id), metadata=ALICE))
    )[0] is grpc.StatusCode.NOT_FOUND
    assert (await status_of(hub.topics.DeleteTopic(delete, metadata=ALICE)))[
        0
    ] is grpc.StatusCode.NOT_FOUND


async def test_a_stale_concurrent_update_is_aborted(hub: Hub, racing_uow: RacingUowFactory) -> None:
    topic = await create(hub, "v1")

    async def competitor() -> None:
        # Another client's update lands between this request's read and its write.
        await hub.topics.UpdateTopic(
            pb.UpdateTopicRequest(
                topic=models_pb2.Topic(
                    base=models_pb2.MessageBase(id=topic.base.id), name="theirs"
                ),
                update_mask=FieldMask(paths=["name"]),
            ),
            metadata=ALICE,
        )

    racing_uow.competitor = competitor
    mine = pb.UpdateTopicRequest(
        topic=models_pb2.Topic(base=models_pb2.MessageBase(id=topic.base.id), name="mine"),
        update_mask=FieldMask(paths=["name"]),
    )
    code, detail = await status_of(hub.topics.UpdateTopic(mine, metadata=ALICE))
    assert code is grpc.StatusCode.ABORTED
    assert "retry" in detail
    current = await hub.topics.GetTopic(pb.GetTopicRequest(id=topic.base.id), metadata=ALICE)
    assert current.topic.name == "theirs"
    assert (await hub.topics.UpdateTopic(mine, metadata=ALICE)).topic.name == "mine"
