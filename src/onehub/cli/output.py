"""How the client commands print: aligned tables, field/value listings, or grpc-gateway JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TextIO

from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from google.protobuf.timestamp_pb2 import Timestamp

from onehub.gen.onehub.v1 import models_pb2

# Long message texts are cut in tables so one row stays one line; --json shows them whole.
_MAX_CELL = 60


def to_json(message: ProtoMessage) -> str:
    """The response as grpc-gateway prints it: lowerCamelCase names, unpopulated fields emitted."""
    as_dict = json_format.MessageToDict(message, always_print_fields_with_no_presence=True)
    return json.dumps(as_dict, indent=2, ensure_ascii=False)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns separated by two spaces; trailing blanks trimmed."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in (headers, *rows)
    ]
    return "\n".join(lines)


def format_fields(fields: Sequence[tuple[str, str]]) -> str:
    """One `name: value` line per field, values aligned."""
    width = max((len(name) for name, _ in fields), default=0) + 1
    return "\n".join(f"{name + ':':<{width}} {value}".rstrip() for name, value in fields)


def timestamp(value: Timestamp) -> str:
    """RFC 3339 in UTC to the second, or "" when the server sent none."""
    if not value.seconds and not value.nanos:
        return ""
    return value.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")


def shorten(text: str, limit: int = _MAX_CELL) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def members(topic: models_pb2.Topic) -> str:
    return ",".join(sorted(user for user, present in topic.users.items() if present))


TOPIC_HEADERS = ("ID", "NAME", "CREATOR", "MEMBERS", "CREATED")
MESSAGE_HEADERS = ("ID", "TOPIC", "SENDER", "CREATED", "TEXT")
USER_HEADERS = ("ID", "NAME", "AVATAR", "CREATED")


def topic_row(topic: models_pb2.Topic) -> list[str]:
    base = topic.base
    return [base.id, topic.name, base.creator_id, members(topic), timestamp(base.created_at)]


def message_row(message: models_pb2.Message) -> list[str]:
    base = message.base
    return [
        base.id,
        message.topic_id,
        base.creator_id,
        timestamp(base.created_at),
        shorten(message.content_base.content_text),
    ]


def user_row(user: models_pb2.User) -> list[str]:
    return [user.id, user.name, user.avatar, timestamp(user.created_at)]


def topic_fields(topic: models_pb2.Topic) -> list[tuple[str, str]]:
    base = topic.base
    return [
        ("id", base.id),
        ("name", topic.name),
        ("creator", base.creator_id),
        ("members", members(topic)),
        ("created", timestamp(base.created_at)),
        ("updated", timestamp(base.updated_at)),
    ]


def message_fields(message: models_pb2.Message) -> list[tuple[str, str]]:
    base = message.base
    content = message.content_base
    fields = [
        ("id", base.id),
        ("topic", message.topic_id),
        ("sender", base.creator_id),
        ("created", timestamp(base.created_at)),
        ("updated", timestamp(base.updated_at)),
    ]
    if message.parent_message_id:
        fields.append(("parent", message.parent_message_id))
    if content.content_type:
        fields.append(("type", content.content_type))
    fields.append(("text", content.content_text))
    return fields


def user_fields(user: models_pb2.User) -> list[tuple[str, str]]:
    return [
        ("id", user.id),
        ("name", user.name),
        ("avatar", user.avatar),
        ("created", timestamp(user.created_at)),
        ("updated", timestamp(user.updated_at)),
    ]


def emit(out: TextIO, text: str) -> None:
    out.write(text if text.endswith("\n") else text + "\n")
