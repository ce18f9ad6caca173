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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_CONTENT_BYTES = 32 * 1024
MAX_JSON_DEPTH = 30


def json_depth(value: object) -> int:
    """How many objects and arrays nest in `value`: 0 for a scalar, 1 for {"a": 1}."""
    deepest = 0
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, Mapping):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        pending.extend((child, level + 1) for child in children)
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


def _varint_size(number: int) -> int:
    return max(1, (number.bit_length() + 6) // 7)


def _field_size(body: int) -> int:
    """A length-delimited field: one tag byte, the length, the body."""
    return 1 + _varint_size(body) + body


def _value_size(value: Any) -> int:
    """Bytes of a google.protobuf.Value holding `value` (its body, without tag and length)."""
    if value is None or isinstance(value, bool):
        return 2
    if isinstance(value, int | float):
        return 9
    if isinstance(value, str):
        return _field_size(len(value.encode("utf-8", "surrogatepass")))
    if isinstance(value, Mapping):
        return _field_size(struct_size(value))
    if isinstance(value, list | tuple):
        return _field_size(sum(_field_size(_value_size(item)) for item in value))
    raise TypeError(f"not a JSON value: {type(value).__name__}")


def struct_size(value: Mapping[str, Any]) -> int:
    """Bytes of the google.protobuf.Struct encoding of the JSON object `value`."""
    total = 0
    for key, item in value.items():
        entry = _field_size(len(str(key).encode("utf-8", "surrogatepass")))
        entry += _field_size(_value_size(item))
        total += _field_size(entry)
    return total


def content_size(text: str, data: Mapping[str, Any] | None) -> int:
    """The bytes a message's content counts against MAX_CONTENT_BYTES (see the module)."""
    size = len(text.encode("utf-8", "surrogatepass"))
    return size if data is None else size + struct_size(data)
