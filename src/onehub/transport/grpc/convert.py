"""Every conversion between protobuf messages and domain types, in one place.

Unset timestamps and structs become None and back; a `Struct` becomes a plain dict (numbers that
are whole become ints again, since protobuf carries every JSON number as a double); a topic's
`map<string,bool> users` holds the members with `true` (a `false` entry is not a member).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf import json_format
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from google.protobuf.struct_pb2 import Struct
from google.protobuf.timestamp_pb2 import Timestamp

from onehub.domain.models import (
    JsonObject,
    Message,
    MessageQuery,
    Page,
    PageRequest,
    Topic,
    User,
)
from onehub.gen.onehub.v1 import models_pb2

_INT32_MAX = 2**31 - 1
_EXACT_FLOAT_LIMIT = 2**53

# Proto mask paths that differ from the domain's field names. Paths not listed pass through
# unchanged, and the service rejects those it does not know (naming them).
_CONTENT_FIELDS = ("content_type", "content_text", "content_data")
_MESSAGE_PATHS: Mapping[str, tuple[str, ...]] = {
    "content_base": _CONTENT_FIELDS,
    **{f"content_base.{name}": (name,) for name in _CONTENT_FIELDS},
}


# --- scalars ---------------------------------------------------------------------------------


# Timestamps are converted with datetime arithmetic (in C) rather than protobuf's helpers,
# which go through time tuples in Python: a bulk import converts two per message each way.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def timestamp_from_proto(value: Timestamp) -> datetime | None:
    seconds, nanos = value.seconds, value.nanos
    if seconds == 0 and nanos == 0:
        return None
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def _timestamp_fields(value: datetime) -> dict[str, int]:
    delta = (value if value.tzinfo is not None else value.replace(tzinfo=UTC)) - _EPOCH
    return {
        "seconds": delta.days * 86400 + delta.seconds,
        "nanos": delta.microseconds * 1000,
    }


def timestamp_to_proto(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    return Timestamp(**_timestamp_fields(value))


def _whole_numbers_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < _EXACT_FLOAT_LIMIT:
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers_as_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_ints(item) for item in value]
    return value


def struct_to_dict(value: Struct) -> dict[str, Any]:
    converted: dict[str, Any] = json_format.MessageToDict(value)
    return _whole_numbers_as_ints(converted)  # type: ignore[no-any-return]


def dict_to_struct(value: JsonObject | None) -> Struct | None:
    if value is None:
        return None
    struct = Struct()
    struct.update(dict(value))
    return struct


def mask_paths(mask: FieldMask, renames: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """The mask's paths as domain field names (duplicates kept once, in order)."""
    paths: list[str] = []
    for path in mask.paths:
        paths.extend(renames.get(path, (path,)) if renames else (path,))
    return list(dict.fromkeys(paths))


def message_mask_paths(mask: FieldMask) -> list[str]:
    """A message mask's paths; `content_base.x` and `content_base` name the content fields."""
    return mask_paths(mask, _MESSAGE_PATHS)


# --- paging ----------------------------------------------------------------------------------


def page_request_from_proto(value: models_pb2.Pagination) -> PageRequest:
    return PageRequest(page_key=value.page_key, page_size=value.page_size)


def page_to_proto(page: Page[Any]) -> models_pb2.PaginationResponse:
    return models_pb2.PaginationResponse(
        next_page_key=page.next_page_key,
        has_more_results=page.has_more,
        total_num_results=min(page.total, _INT32_MAX),
    )


# --- users -----------------------------------------------------------------------------------


def user_from_proto(value: models_pb2.User) -> User:
    return User(
        id=value.id,
        name=value.name,
        avatar=value.avatar,
        profile_data=struct_to_dict(value.profile_data) if value.HasField("profile_data") else None,
        created_at=timestamp_from_proto(value.created_at),
        updated_at=timestamp_from_proto(value.updated_at),
    )


def user_to_proto(value: User) -> models_pb2.User:
    return models_pb2.User(
        id=value.id,
        name=value.name,
        avatar=value.avatar,
        profile_data=dict_to_struct(value.profile_data),
        created_at=timestamp_to_proto(value.created_at),
        updated_at=timestamp_to_proto(value.updated_at),
    )


# --- topics ----------------------------------------------------------------------------------


def topic_from_proto(value: models_pb2.Topic) -> Topic:
    return Topic(
        id=value.base.id,
        creator_id=value.base.creator_id,
        name=value.name,
        users=frozenset(user_id for user_id, member in value.users.items() if member),
        created_at=timestamp_from_proto(value.base.created_at),
        updated_at=timestamp_from_proto(value.base.updated_at),
    )


def topic_to_proto(value: Topic) -> models_pb2.Topic:
    return models_pb2.Topic(
        base=models_pb2.MessageBase(
            id=value.id,
            creator_id=value.creator_id,
            created_at=timestamp_to_proto(value.created_at),
            updated_at=timestamp_to_proto(value.updated_at),
        ),
        name=value.name,
        users=dict.fromkeys(sorted(value.users), True),
    )


# --- messages --------------------------------------------------------------------------------


def message_from_proto(value: models_pb2.Message) -> Message:
    content = value.content_base
    base = value.base
    return Message(
        id=base.id,
        creator_id=base.creator_id,
        topic_id=value.topic_id,
        content_type=content.content_type,
        content_text=content.content_text,
        content_data=struct_to_dict(content.content_data)
        if content.HasField("content_data")
        else None,
        parent_message_id=value.parent_message_id,
        created_at=timestamp_from_proto(base.created_at),
        updated_at=timestamp_from_proto(base.updated_at),
    )


def messages_from_proto(values: Iterable[models_pb2.Message]) -> list[Message]:
    return [message_from_proto(value) for value in values]


def message_fields(value: Message) -> dict[str, Any]:
    """The fields of `value`'s proto as nested dicts, which a message constructor (or a
    repeated field's `add`) takes as they are: no intermediate submessages to copy, and a list
    of them builds a response's repeated field inside the response (a bulk import answers with
    every message it stored)."""
    base: dict[str, Any] = {"id": value.id, "creator_id": value.creator_id}
    if value.created_at is not None:
        base["created_at"] = _timestamp_fields(value.created_at)
    if value.updated_at is not None:
        base["updated_at"] = _timestamp_fields(value.updated_at)
    content: dict[str, Any] = {
        "content_type": value.content_type,
        "content_text": value.content_text,
    }
    if value.content_data is not None:
        content["content_data"] = dict_to_struct(value.content_data)
    return {
        "base": base,
        "content_base": content,
        "topic_id": value.topic_id,
        "parent_message_id": value.parent_message_id,
    }


def message_to_proto(value: Message) -> models_pb2.Message:
    return models_pb2.Message(**message_fields(value))


def add_messages(
    container: RepeatedCompositeFieldContainer[models_pb2.Message], values: Iterable[Message]
) -> None:
    """Append `values` to a response's repeated field, each built in place."""
    for value in values:
        container.add(**message_fields(value))


def message_query_from_proto(
    search_phrase: str, sender_id: str, topic_id: str, order_by: Sequence[str]
) -> MessageQuery:
    return MessageQuery(
        phrase=search_phrase, sender_id=sender_id, topic_id=topic_id, order_by=tuple(order_by)
    )
