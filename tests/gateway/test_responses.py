"""What a successful call looks like: the grpc-gateway v2 JSON conventions."""

from __future__ import annotations

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.message_factory import GetMessageClass

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2

from .conftest import Gateway
from .library import library_service


def _topic() -> models_pb2.Topic:
    created = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=123_000_000)
    return models_pb2.Topic(
        base=models_pb2.MessageBase(id="t1", creator_id="alice", created_at=created),
        name="Général",
        users={"alice": True, "bob": False},
    )


async def test_responses_use_json_names_and_emit_unpopulated_fields(gateway: Gateway) -> None:
    gateway.backend.answer("GetTopic", topics_pb2.GetTopicResponse(topic=_topic()))

    response = await gateway.client.get("/api/v1/topics/t1")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "topic": {
            "base": {
                "id": "t1",
                "creatorId": "alice",
                "createdAt": "2023-11-14T22:13:20.123Z",
                "updatedAt": None,  # an unset message field is null, as in grpc-gateway
            },
            "name": "Général",
            "users": {"alice": True, "bob": False},
        }
    }


async def test_unset_message_fields_are_null_at_every_depth_but_oneofs_stay_out(
    gateway: Gateway,
) -> None:
    text_only = models_pb2.Message(
        topic_id="t1", content_base=models_pb2.ContentBase(content_type="text/plain")
    )
    empty = models_pb2.Message()
    gateway.backend.answer(
        "ListMessages", messages_pb2.ListMessagesResponse(messages=[text_only, empty])
    )
    gateway.backend.answer("GetUser", users_pb2.GetUserResponse(user=models_pb2.User(id="u1")))

    listed = (await gateway.client.get("/v1/topics/t1/messages")).json()
    user = (await gateway.client.get("/v1/users/u1")).json()["user"]

    assert listed["pagination"] is None
    first, second = listed["messages"]
    assert first["base"] is None
    assert first["contentBase"]["contentData"] is None
    assert second["contentBase"] is None
    # `optional` fields sit in a synthetic oneof: grpc-gateway leaves them out when unset.
    assert user["createdAt"] is None
    assert "profileData" not in user


async def test_empty_lists_maps_and_scalars_are_present(gateway: Gateway) -> None:
    gateway.backend.answer(
        "ListTopics",
        topics_pb2.ListTopicsResponse(pagination=models_pb2.PaginationResponse()),
    )

    listed = await gateway.client.get("/v1/topics")
    batch = await gateway.client.get("/v1/topics:batchGet")
    deleted = await gateway.client.delete("/v1/topics/t1")

    assert listed.json() == {
        "topics": [],
        "pagination": {"nextPageKey": "", "hasMoreResults": False, "totalNumResults": 0},
    }
    assert batch.json() == {"topics": {}}
    assert deleted.json() == {}


async def test_structs_are_plain_objects_and_maps_of_messages_are_objects(
    gateway: Gateway,
) -> None:
    data = struct_pb2.Struct()
    data.update({"mood": "happy", "tags": ["a", 1.5], "nested": {"ok": True}})
    message = models_pb2.Message(
        topic_id="t1", content_base=models_pb2.ContentBase(content_type="text", content_data=data)
    )
    gateway.backend.answer(
        "GetMessages", messages_pb2.GetMessagesResponse(messages={"m1": message})
    )

    response = await gateway.client.get("/v1/messages:batchGet?ids=m1")

    content = response.json()["messages"]["m1"]["contentBase"]
    assert content["contentData"] == {"mood": "happy", "tags": ["a", 1.5], "nested": {"ok": True}}
    assert content["contentText"] == ""
    assert response.json()["messages"]["m1"]["topicId"] == "t1"
    assert response.json()["messages"]["m1"]["parentMessageId"] == ""


async def test_response_body_answers_with_the_named_field_only(gateway: Gateway) -> None:
    book_class = GetMessageClass(library_service().methods_by_name["ReadFile"].output_type)
    gateway.backend.answer("ReadFile", book_class(title="Dune"))

    response = await gateway.client.get("/v2/files/books/dune.txt")

    assert response.json() == "Dune"
