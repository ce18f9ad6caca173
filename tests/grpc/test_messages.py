"""MessageService through the generated stubs on a real server."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from onehub.gen.onehub.v1 import messages_pb2 as pb
from onehub.gen.onehub.v1 import models_pb2, topics_pb2

from .conftest import ADMIN, ALICE, BOB, Hub
from .test_topics import create as create_topic
from .test_topics import status_of


def message(text: str = "hi", message_id: str = "", **fields: object) -> models_pb2.Message:
    data = fields.pop("content_data", None)
    struct = Struct()
    if data is not None:
        struct.update(data)  # type: ignore[arg-type]
    return models_pb2.Message(
        base=models_pb2.MessageBase(id=message_id, creator_id=str(fields.pop("creator_id", ""))),
        content_base=models_pb2.ContentBase(
            content_text=text,
            content_type=str(fields.pop("content_type", "")),
            content_data=struct if data is not None else None,
        ),
        **fields,  # type: ignore[arg-type]
    )


@pytest.fixture
async def topic_id(hub: Hub) -> str:
    return (await create_topic(hub, "chat")).base.id


async def send(
    hub: Hub,
    topic_id: str,
    *messages: models_pb2.Message,
    metadata: object = ALICE,
    **options: bool,
) -> list[models_pb2.Message]:
    request = pb.CreateMessagesRequest(topic_id=topic_id, messages=messages, **options)
    reply = await hub.messages.CreateMessages(request, metadata=metadata)  # type: ignore[arg-type]
    return list(reply.messages)


async def test_create_list_get_and_batch_get(hub: Hub, topic_id: str) -> None:
    sent = await send(
        hub,
        topic_id,
        message("one", content_data={"n": 1, "tags": ["a"], "nested": {"ok": True}}),
        message("two", "m-2", content_type="text/markdown"),
    )
    listed = await hub.messages.ListMessages(
        pb.ListMessagesRequest(topic_id=topic_id), metadata=BOB
    )
    got = await hub.messages.GetMessage(pb.GetMessageRequest(id="m-2"), metadata=BOB)
    batch = await hub.messages.GetMessages(pb.GetMessagesRequest(ids=["m-2", "nope"]), metadata=BOB)

    assert [m.base.creator_id for m in sent] == ["alice", "alice"]
    assert [m.topic_id for m in sent] == [topic_id, topic_id]
    assert list(listed.messages) == sent
    assert listed.pagination.total_num_results == 2
    assert got.message == sent[1]
    assert list(batch.messages) == ["m-2"]
    data = sent[0].content_base.content_data
    assert data.fields["n"].number_value == 1
    assert data.fields["nested"].struct_value.fields["ok"].bool_value is True


async def test_allow_userids_is_for_admin(hub: Hub, topic_id: str) -> None:
    seeded = await send(
        hub, topic_id, message(creator_id="carol"), metadata=ADMIN, allow_userids=True
    )
    refused = await send(
        hub, topic_id, message(creator_id="carol"), metadata=BOB, allow_userids=True
    )
    assert seeded[0].base.creator_id == "carol"
    assert refused[0].base.creator_id == "bob"


async def test_create_errors_and_all_or_nothing(hub: Hub, topic_id: str) -> None:
    await send(hub, topic_id, message(message_id="taken"))

    code, detail = await status_of(send(hub, "ghost", message()))
    assert (code, detail) == (grpc.StatusCode.NOT_FOUND, "topic 'ghost' not found")
    code, _ = await status_of(
        send(hub, topic_id, message(message_id="new"), message("other", message_id="taken"))
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS
    code, detail = await status_of(send(hub, topic_id, message(), message(message_id="a b")))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert detail.startswith("messages[1]:")

    listed = await hub.messages.ListMessages(
        pb.ListMessagesRequest(topic_id=topic_id), metadata=BOB
    )
    assert [m.base.id for m in listed.messages] == ["taken"]
    missing = pb.ListMessagesRequest(topic_id="ghost")
    assert (await status_of(hub.messages.ListMessages(missing, metadata=BOB)))[
        0
    ] is grpc.StatusCode.NOT_FOUND


async def test_import_is_admin_only_and_names_the_bad_index(hub: Hub, topic_id: str) -> None:
    stamp = Timestamp()
    stamp.FromDatetime(datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC))
    good = message("old", "imp-1", creator_id="carol", topic_id=topic_id)
    good.base.created_at.CopyFrom(stamp)

    imported = await hub.messages.ImportMessages(
        pb.ImportMessagesRequest(messages=[good]), metadata=ADMIN
    )
    assert imported.messages[0].base.created_at == stamp
    assert imported.messages[0].base.creator_id == "carol"

    code, _ = await status_of(
        hub.messages.ImportMessages(pb.ImportMessagesRequest(messages=[good]), metadata=ALICE)
    )
    assert code is grpc.StatusCode.PERMISSION_DENIED
    no_creator = message("x", topic_id=topic_id)
    code, detail = await status_of(
        hub.messages.ImportMessages(
            pb.ImportMessagesRequest(
                messages=[message("y", creator_id="c", topic_id=topic_id), no_creator]
            ),
            metadata=ADMIN,
        )
    )
    assert (code, detail) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "messages[1]: creator_id is required",
    )


async def test_update_replaces_and_appends_with_proto_mask_paths(hub: Hub, topic_id: str) -> None:
    [stored] = await send(hub, topic_id, message("Hello", "m", content_data={"a": 1}))

    appended = await hub.messages.UpdateMessage(
        pb.UpdateMessageRequest(
            message=message(", world", "m", content_type="md", content_data={"b": 2}),
            update_mask=FieldMask(paths=["content_base.content_type"]),
            append_mask=FieldMask(paths=["content_base.content_text", "content_base.content_data"]),
        ),
        metadata=ALICE,
    )
    replaced = await hub.messages.UpdateMessage(
        pb.UpdateMessageRequest(
            message=message("fresh", "m"), update_mask=FieldMask(paths=["content_base"])
        ),
        metadata=ADMIN,
    )

    content = appended.message.content_base
    assert (content.content_text, content.content_type) == ("Hello, world", "md")
    assert set(content.content_data.fields) == {"a", "b"}
    assert replaced.message.content_base.content_text == "fresh"
    assert not replaced.message.content_base.HasField("content_data")
    assert replaced.message.base.created_at == stored.base.created_at

    for request, metadata, expected in [
        (
            pb.UpdateMessageRequest(message=message("x", "m")),
            ALICE,
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            pb.UpdateMessageRequest(
                message=message("x", "m"), update_mask=FieldMask(paths=["topic_id"])
            ),
            ALICE,
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (
            pb.UpdateMessageRequest(
                message=message("x", "m"), update_mask=FieldMask(paths=["content_base"])
            ),
            BOB,
            grpc.StatusCode.PERMISSION_DENIED,
        ),
        (
            pb.UpdateMessageRequest(
                message=message("x", "ghost"), update_mask=FieldMask(paths=["content_base"])
            ),
            ALICE,
            grpc.StatusCode.NOT_FOUND,
        ),
    ]:
        code, _ = await status_of(hub.messages.UpdateMessage(request, metadata=metadata))
        assert code is expected


async def test_delete_message_and_cascade_from_topic(hub: Hub, topic_id: str) -> None:
    await send(hub, topic_id, message("a", "m1"), message("b", "m2"))

    delete = pb.DeleteMessageRequest(id="m1")
    assert (await status_of(hub.messages.DeleteMessage(delete, metadata=BOB)))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED
    await hub.messages.DeleteMessage(delete, metadata=ALICE)
    assert (await status_of(hub.messages.DeleteMessage(delete, metadata=ALICE)))[
        0
    ] is grpc.StatusCode.NOT_FOUND

    await hub.topics.DeleteTopic(topics_pb2.DeleteTopicRequest(id=topic_id), metadata=ALICE)
    assert (
        await status_of(hub.messages.GetMessage(pb.GetMessageRequest(id="m2"), metadata=ALICE))
    )[0] is grpc.StatusCode.NOT_FOUND


async def test_search(hub: Hub, topic_id: str) -> None:
    await send(hub, topic_id, message("the quick brown fox"))
    await send(hub, topic_id, message("quick reply"), metadata=BOB)
    await send(hub, topic_id, message("unrelated"), metadata=BOB)

    by_phrase = await hub.messages.SearchMessages(
        pb.SearchMessagesRequest(search_phrase="quick", order_by=["created_at"]), metadata=ALICE
    )
    by_bob = await hub.messages.SearchMessages(
        pb.SearchMessagesRequest(sender_id="bob", topic_id=topic_id, order_by=["-created_at"]),
        metadata=ALICE,
    )
    paged = await hub.messages.SearchMessages(
        pb.SearchMessagesRequest(
            search_phrase="quick", pagination=models_pb2.Pagination(page_size=1)
        ),
        metadata=ALICE,
    )

    assert [m.content_base.content_text for m in by_phrase.messages] == [
        "the quick brown fox",
        "quick reply",
    ]
    assert [m.content_base.content_text for m in by_bob.messages] == ["unrelated", "quick reply"]
    assert len(paged.messages) == 1
    assert paged.pagination.has_more_results
    bad_sort = pb.SearchMessagesRequest(order_by=["password_hash"])
    assert (await status_of(hub.messages.SearchMessages(bad_sort, metadata=ALICE)))[
        0
    ] is grpc.StatusCode.INVALID_ARGUMENT
