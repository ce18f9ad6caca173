"""How large and how deep the data a client may store can be, and how both are measured.

Content size: a message's `content_text` counts its UTF-8 bytes, its `content_data` the bytes of
its protobuf `Struct` encoding (what it takes on the gRPC wire: keys and strings as UTF-8 plus
2-6 bytes each, 9 bytes per number, 2 per true/false/null). Together they may take at most
`MAX_CONTENT_BYTES`, so a page of 1,000 messages stays far below the gRPC message limit.

JSON depth: the JSON-object fields (`content_data`, `profile_data`) travel as protobuf `Struct`s,
where every nested object costs three message levels and every nested array two; protobuf's
decoder (upb) refuses more than 100 levels, counting the messages around the Struct (a batch-get
response adds four). 32 nested objects is the most that still decodes there; `MAX_JSON_DEPTH`
stays clearly below it.

Profile data: a user's `profile_data` is measured like `content_data` (its `Struct` encoding)
and may take at most `MAX_PROFILE_DATA_BYTES`.

Membership: a topic may list at most `MAX_TOPIC_MEMBERS` members, whose ids together take at
most `MAX_MEMBER_ID_BYTES` as UTF-8 (`member_ids_size`); ids alone may take 512 bytes each, so
the count on its own would not bound a topic's size.

Together with the name, id and avatar lengths (`onehub.services.ids`, `onehub.services.users`)
these keep a page of the largest size (1,000 topics or users, listed or batch-got) at about
43 MB at worst, below the 64 MiB gRPC message limit of both hops.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

MAX_CONTENT_BYTES = 32 * 1024
MAX_JSON_DEPTH = 30
MAX_PROFILE_DATA_BYTES = 32 * 1024
MAX_TOPIC_MEMBERS = 1000
MAX_MEMBER_ID_BYTES = 32 * 1024


_SCALARS = (str, int, float, bool, type(None))


def json_depth(value: object) -> int:
    """How many objects and arrays nest in `value`: 0 for a scalar, 1 for {"a": 1}."""
    deepest = 0
    level = 0
    # Breadth first, one level at a time: no recursion, whatever the depth.
    current: list[object] = [value]
    while current:
        containers: list[Any] = []
        for item in current:
            if isinstance(item, _SCALARS):
                continue
            if isinstance(item, dict | Mapping):
                containers.extend(item.values())
            elif isinstance(item, list | tuple):
                containers.extend(item)
            else:
                continue
            deepest = level + 1
        level += 1
        current = containers if deepest == level else []
    return deepest


def cut_below(value: Any, max_depth: int) -> Any:
    """Return `value` with every object or array nested deeper than `max_depth` replaced by
    None (JSON null); containers are copied, `value` is left as it is."""

    def cut(item: Any, level: int) -> Any:
        if isinstance(item, Mapping | list | tuple) and level > max_depth:
            return None
        if isinstance(item, Mapping):
            return {key: cut(child, level + 1) for key, child in item.items()}
        if isinstance(item, list | tuple):
            return [cut(child, level + 1) for child in item]
        return item

    # The recursion is bounded: nothing below max_depth is visited.
    return cut(value, 1)


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def _field_size(body: int) -> int:
    """A length-delimited field: one tag byte, the length as a varint, the body."""
    if body < 0x80:
        return body + 2
    if body < 0x4000:
        return body + 3
    return 1 + max(1, (body.bit_length() + 6) // 7) + body


def _value_size(value: Any) -> int:
    """Bytes of a google.protobuf.Value holding `value` (its body, without tag and length)."""
    kind = type(value)
    if kind is str:
        return _field_size(_utf8_size(value))
    if kind is dict:
        return _field_size(struct_size(value))
    if kind is list:
        return _field_size(sum([_field_size(_value_size(item)) for item in value]))
    if value is None or kind is bool:
        return 2
    if kind is int or kind is float:
        return 9
    # Subclasses and other containers: the same rules, found the slow way.
    if isinstance(value, str):
        return _field_size(_utf8_size(value))
    if isinstance(value, bool):
        return 2
    if isinstance(value, int | float):
        return 9
    if isinstance(value, Mapping):
        return _field_size(struct_size(value))
    if isinstance(value, list | tuple):
        return _field_size(sum([_field_size(_value_size(item)) for item in value]))
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def struct_size(value: Mapping[str, Any]) -> int:
    """Bytes of the google.protobuf.Struct encoding of the JSON object `value`."""
    return sum(
        [
            _field_size(_field_size(_utf8_size(str(key))) + _field_size(_value_size(item)))
            for key, item in value.items()
        ]
    )


def content_size(text: str, data: Mapping[str, Any] | None) -> int:
    """The bytes a message's content counts against MAX_CONTENT_BYTES (see the module)."""
    size = _utf8_size(text)
    return size if data is None else size + struct_size(data)


def member_ids_size(user_ids: Iterable[str]) -> int:
    """The UTF-8 bytes of a topic's member ids, counted against MAX_MEMBER_ID_BYTES."""
    return sum([_utf8_size(user_id) for user_id in user_ids])
