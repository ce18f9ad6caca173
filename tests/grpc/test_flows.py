"""The original clients' flows end to end, on every store (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2
from onehub.services.ports import UnitOfWorkFactory

from .conftest import ADMIN, Hub, StartHub, creds

# Unicode of several scripts and planes, SQL and LIKE metacharacters, quotes, backslashes,
# JSON-ish and HTML-ish text: every text field must store and return it unchanged.
NASTY = 'Ünïcödé 日本語 🚀 \u200b\'; DROP TABLE topics;-- "q" %_ \\x <b>&amp;</b> {"a":1}'


@pytest.fixture
async def any_hub(start_hub: StartHub, uow_factory: UnitOfWorkFactory) -> Hub:
    return await start_hub(uow_factory)


async def test_the_load_scripts_flow(any_hub: Hub) -> None:
    """As the original load script: admin creates users, topics and messages for them."""
    hub = any_hub
    for user_id in ["alice", "bob"]:
        await hub.users.CreateUser(
            users_pb2.CreateUserRequest(user=models_pb2.User(id=user_id, name=user_id.title())),
            metadata=ADMIN,
        )
    topic = (
        await hub.topics.CreateTopic(
            topics_pb2.CreateTopicRequest(
                topic=models_pb2.Topic(name="Lunch", users={"alice": True, "bob": True})
            ),
            metadata=ADMIN,
        )
    ).topic
    seeded = await hub.messages.CreateMessages(
        messages_pb2.CreateMessagesRequest(
            topic_id=topic.base.id,
            allow_userids=True,
            messages=[
                models_pb2.Message(
                    base=models_pb2.MessageBase(creator_id=author),
                    content_base=models_pb2.ContentBase(content_text=f"hi from {author}"),
                )
                for author in ["alice", "bob", "alice"]
            ],
        ),
        metadata=ADMIN,
    )
    # Then users act for themselves, as the CLI and front ends do.
    own = await hub.messages.CreateMessages(
        messages_pb2.CreateMessagesRequest(
            topic_id=topic.base.id,
            messages=[
                models_pb2.Message(
                    base=models_pb2.MessageBase(creator_id="admin"),
                    content_base=models_pb2.ContentBase(content_text="me"),
                )
            ],
        ),
        metadata=creds("bob"),
    )

    listed = await hub.messages.ListMessages(
        messages_pb2.ListMessagesRequest(topic_id=topic.base.id), metadata=creds("alice")
    )
    assert [m.base.creator_id for m in seeded.messages] == ["alice", "bob", "alice"]
    assert own.messages[0].base.creator_id == "bob"
    assert [m.content_base.content_text for m in listed.messages] == [
        "hi from alice",
        "hi from bob",
        "hi from alice",
        "me",
    ]


async def test_every_text_field_keeps_nasty_text(any_hub: Hub) -> None:
    hub = any_hub
    user = await hub.users.CreateUser(
        users_pb2.CreateUserRequest(user=models_pb2.User(id="o'brien%_", name=NASTY, avatar=NASTY)),
        metadata=ADMIN,
    )
    await hub.users.CreateUser(
        users_pb2.CreateUserRequest(user=models_pb2.User(id="日本", name=NASTY)), metadata=ADMIN
    )
    user.user.profile_data.update({NASTY: NASTY})
    updated_user = await hub.users.UpdateUser(
        users_pb2.UpdateUserRequest(user=user.user, update_mask=FieldMask(paths=["profile_data"])),
        metadata=creds("o'brien%_"),
    )
    topic = await hub.topics.CreateTopic(
        topics_pb2.CreateTopicRequest(
            topic=models_pb2.Topic(
                base=models_pb2.MessageBase(id="t'--"), name=NASTY, users={"日本": True}
            )
        ),
        metadata=creds("o'brien%_"),
    )
    content = models_pb2.ContentBase(content_type=NASTY, content_text=NASTY)
    content.content_data.update({NASTY: [NASTY, 1.5, None, True]})
    sent = await hub.messages.CreateMessages(
        messages_pb2.CreateMessagesRequest(
            topic_id="t'--",
            messages=[
                models_pb2.Message(
                    base=models_pb2.MessageBase(id='m"%'),
                    content_base=content,
                    parent_message_id="p'1",
                )
            ],
        ),
        metadata=creds("o'brien%_"),
    )

    got_user = await hub.users.GetUser(users_pb2.GetUserRequest(id="o'brien%_"), metadata=ADMIN)
    got_topic = await hub.topics.GetTopic(topics_pb2.GetTopicRequest(id="t'--"), metadata=ADMIN)
    got_message = await hub.messages.GetMessage(
        messages_pb2.GetMessageRequest(id='m"%'), metadata=ADMIN
    )
    assert (got_user.user.name, got_user.user.avatar) == (NASTY, NASTY)
    assert got_user.user.profile_data == updated_user.user.profile_data
    assert got_user.user.profile_data.fields[NASTY].string_value == NASTY
    assert got_topic.topic == topic.topic
    assert got_topic.topic.name == NASTY
    assert dict(got_topic.topic.users) == {"日本": True}
    assert got_message.message == sent.messages[0]
    assert got_message.message.content_base == content
    assert got_message.message.parent_message_id == "p'1"


async def test_nul_characters_are_a_clear_invalid_argument(any_hub: Hub) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await any_hub.topics.CreateTopic(
            topics_pb2.CreateTopicRequest(topic=models_pb2.Topic(name="a\x00b")), metadata=ADMIN
        )
    assert failed.value.code() is grpc.StatusCode.INVALID_ARGUMENT
