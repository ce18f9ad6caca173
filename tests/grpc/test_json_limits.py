"""The limits measured against protobuf itself: the content size counts exactly what a Struct
takes on the wire, every message that carries free-form JSON round-trips at MAX_JSON_DEPTH with
room to spare, and no Struct field escapes the services' checks."""

from __future__ import annotations

import random
from typing import Any

from google.protobuf.descriptor import Descriptor
from google.protobuf.message import DecodeError
from google.protobuf.message_factory import GetMessageClass
from google.protobuf.struct_pb2 import Struct

from onehub.domain.limits import MAX_JSON_DEPTH, struct_size
from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2, users_pb2

_JSON_TYPES = {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
# Every field of the API that carries free-form JSON, and so needs the services' depth check.
_CHECKED = {"onehub.v1.User.profile_data", "onehub.v1.ContentBase.content_data"}


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth > 4 or pick < 0.35:
        return rng.choice([None, True, False, 0, 7, -1.5, 1e300, "", "é" * rng.randint(0, 200)])
    if pick < 0.7:
        return {"k" * rng.randint(0, 150) + str(i): _random_json(rng, depth + 1) for i in range(4)}
    return [_random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]


def test_struct_size_is_the_protobuf_encoding_size() -> None:
    rng = random.Random(7)
    for _ in range(500):
        value = {f"f{i}": _random_json(rng) for i in range(rng.randint(0, 5))}
        struct = Struct()
        struct.update(value)
        assert struct_size(value) == struct.ByteSize(), value


def _nested(levels: int) -> Struct:
    value: Any = 1
    for _ in range(levels - 1):
        value = {"a": value}
    struct = Struct()
    struct.update({"a": value})
    return struct


def _responses_with_json() -> list[Descriptor]:
    found = []
    for module in (messages_pb2, topics_pb2, users_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            for method in service.methods:
                for message in (method.input_type, method.output_type):
                    if _carries_json(message, set()):
                        found.append(message)
    return found


def _carries_json(message: Descriptor, seen: set[str]) -> bool:
    if message.full_name in _JSON_TYPES:
        return True
    if message.full_name in seen:
        return False
    seen.add(message.full_name)
    return any(
        f.message_type is not None and _carries_json(f.message_type, seen) for f in message.fields
    )


def _with_struct(message: Descriptor, struct: Struct) -> Any:
    """An instance of `message` with `struct` in its (first) JSON field, however nested."""
    instance = GetMessageClass(message)()
    _fill(instance, struct)
    return instance


def _fill(instance: Any, struct: Struct) -> bool:
    for field in instance.DESCRIPTOR.fields:
        kind = field.message_type
        if kind is None or not _carries_json(kind, set()):
            continue
        if kind.full_name == "google.protobuf.Struct":
            getattr(instance, field.name).CopyFrom(struct)
            return True
        if kind.GetOptions().map_entry:
            return _fill(getattr(instance, field.name)["k"], struct)
        target = (
            getattr(instance, field.name).add()
            if field.is_repeated
            else getattr(instance, field.name)
        )
        return _fill(target, struct)
    return False


def test_every_message_carrying_json_round_trips_at_the_limit_with_room_to_spare() -> None:
    messages = _responses_with_json()
    assert {m.name for m in messages} >= {
        "GetUsersResponse",
        "ListMessagesResponse",
        "UpdateUserRequest",
    }
    for message in messages:
        for levels in (MAX_JSON_DEPTH, MAX_JSON_DEPTH + 2):
            encoded = _with_struct(message, _nested(levels)).SerializeToString()
            GetMessageClass(message).FromString(encoded)  # must not raise
    # Where protobuf's decoder gives up: 33 objects inside a batch-get response.
    batch = users_pb2.GetUsersResponse(users={"u": models_pb2.User(profile_data=_nested(33))})
    try:
        users_pb2.GetUsersResponse.FromString(batch.SerializeToString())
    except DecodeError:
        pass
    else:
        raise AssertionError("upb decoded 33 levels: the margin in onehub.domain.limits is stale")


def test_every_json_field_of_the_api_is_checked_by_the_services() -> None:
    fields = set()
    for module in (messages_pb2, topics_pb2, users_pb2, models_pb2):
        for message in module.DESCRIPTOR.message_types_by_name.values():
            for field in message.fields:
                if field.message_type is not None and field.message_type.full_name in _JSON_TYPES:
                    fields.add(field.full_name)
    assert fields == _CHECKED
