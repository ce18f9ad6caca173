"""Responses as grpc-gateway v2 renders them by default (protojson with EmitUnpopulated).

`json_format.MessageToDict(always_print_fields_with_no_presence=True)` already prints unset
scalars, lists and maps. What it leaves out, and grpc-gateway prints as `null`, is an unset
singular message field outside any oneof (a proto3 `optional` field is in a synthetic oneof, so
it stays out in both). `render_json` adds those nulls, at every depth.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

# Well-known types have their own JSON forms (a string, any JSON value...), not field objects.
_WELL_KNOWN_PREFIX = "google.protobuf."


def render_json(response: Message, field: str | None = None) -> bytes:
    """`response` (or only its `field`, a field name) as compact UTF-8 JSON."""
    if field is None and _fast_renderer(response.DESCRIPTOR) is not None:
        return b"".join(_render_parts(response))
    document: Any = render_dict(response)
    if field is not None:
        document = document.get(response.DESCRIPTOR.fields_by_name[field].json_name)
    return _dumps(document)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# Elements of a list of messages encoded per call: one tree of this many at a time.
_ELEMENTS_PER_PIECE = 500


def _dumps(document: Any) -> bytes:
    return _ENCODER.encode(document).encode()


def _render_parts(response: Message) -> Iterator[bytes]:
    """The response's JSON in pieces, each element of a list of messages encoded on its own: a
    bulk response never exists as one tree of Python objects (only as its encoded pieces)."""
    descriptor = cast(Descriptor, response.DESCRIPTOR)
    yield b"{"
    for index, field in enumerate(descriptor.fields):
        yield b"," if index else b""
        yield _dumps(field.json_name) + b":"
        value = getattr(response, field.name)
        if field.is_repeated and _is_element_message(field):
            yield b"["
            for start in range(0, len(value), _ELEMENTS_PER_PIECE):
                piece = [render_dict(item) for item in value[start : start + _ELEMENTS_PER_PIECE]]
                yield b"," if start else b""
                yield _dumps(piece)[1:-1]  # the elements, without the piece's own brackets
            yield b"]"
        elif field.message_type is not None and not field.is_repeated:
            has_value = response.HasField(field.name)
            yield _dumps(_message_step(field.message_type)(value) if has_value else None)
        else:
            yield _dumps(_field_value(field, value))
    yield b"}"


def _is_element_message(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return (
        message_type is not None
        and not message_type.GetOptions().map_entry
        and not _is_well_known(message_type)
    )


def _field_value(field: FieldDescriptor, value: Any) -> Any:
    step = _field_step(field)
    assert step is not None  # the type has a fast renderer, so every field has a step
    convert = step[0]
    return value if convert is None else convert(value)


def render_dict(message: Message) -> dict[str, Any]:
    """`message` as the JSON object grpc-gateway renders: message types made only of the
    common field kinds take a fast path (`_fast_renderer`), any other goes through
    json_format; both give the same values."""
    render = _fast_renderer(message.DESCRIPTOR)
    return render(message) if render is not None else _slow_render(message)


def _slow_render(message: Message) -> dict[str, Any]:
    document: dict[str, Any] = json_format.MessageToDict(
        message, always_print_fields_with_no_presence=True
    )
    _add_unset_messages(message, document)
    return document


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where one message type's rendering may lack nulls: computed once per type."""

    # Singular message fields outside oneofs, and whether to look inside them when set.
    singular: tuple[tuple[FieldDescriptor, bool], ...]
    # Repeated fields of (non well-known) messages.
    repeated: tuple[FieldDescriptor, ...]
    # Maps whose values are (non well-known) messages, with their key field.
    maps: tuple[tuple[FieldDescriptor, FieldDescriptor], ...]


@cache
def _plan(descriptor: Descriptor) -> _Plan:
    singular: list[tuple[FieldDescriptor, bool]] = []
    repeated: list[FieldDescriptor] = []
    maps: list[tuple[FieldDescriptor, FieldDescriptor]] = []
    for field in descriptor.fields:
        message_type = field.message_type
        if message_type is None:
            continue
        if message_type.GetOptions().map_entry:
            value = message_type.fields_by_name["value"].message_type
            if value is not None and not _is_well_known(value):
                maps.append((field, message_type.fields_by_name["key"]))
        elif field.is_repeated:
            if not _is_well_known(message_type):
                repeated.append(field)
        elif field.containing_oneof is None:
            singular.append((field, not _is_well_known(message_type)))
    return _Plan(tuple(singular), tuple(repeated), tuple(maps))


def _is_well_known(descriptor: Descriptor) -> bool:
    return descriptor.full_name.startswith(_WELL_KNOWN_PREFIX)


def _add_unset_messages(message: Message, document: dict[str, Any]) -> None:
    plan = _plan(message.DESCRIPTOR)
    for field, look_inside in plan.singular:
        if not message.HasField(field.name):
            document[field.json_name] = None
        elif look_inside:
            _add_unset_messages(getattr(message, field.name), document[field.json_name])
    for field in plan.repeated:
        items = getattr(message, field.name)
        for item, rendered in zip(items, document[field.json_name], strict=True):
            _add_unset_messages(item, rendered)
    for field, key in plan.maps:
        values = getattr(message, field.name)
        for rendered_key, rendered in document[field.json_name].items():
            _add_unset_messages(values[_map_key(key, rendered_key)], rendered)


def _map_key(key: FieldDescriptor, rendered: str) -> Any:
    """The map key that protojson rendered as the string `rendered`."""
    if key.type == FieldDescriptor.TYPE_BOOL:
        return rendered == "true"
    if key.cpp_type in (
        FieldDescriptor.CPPTYPE_INT32,
        FieldDescriptor.CPPTYPE_INT64,
        FieldDescriptor.CPPTYPE_UINT32,
        FieldDescriptor.CPPTYPE_UINT64,
    ):
        return int(rendered)
    return rendered


# --- the fast path ---------------------------------------------------------------------------
# A bulk import answers with every message it stored; json_format's generic walk took longer
# than storing them. A plan per message type renders each field with one small function.

_FD = FieldDescriptor
_Render = Callable[[Any], Any]
_STRINGS_AS_IS = frozenset({_FD.TYPE_STRING, _FD.TYPE_BOOL})
_INTS_AS_NUMBERS = frozenset(
    {_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32, _FD.TYPE_UINT32, _FD.TYPE_FIXED32}
)
_INTS_AS_STRINGS = frozenset(
    {_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64, _FD.TYPE_UINT64, _FD.TYPE_FIXED64}
)
_TIMESTAMP = "google.protobuf.Timestamp"
_EPOCH = datetime.datetime(1970, 1, 1)
# The range protobuf's Timestamp.ToJsonString accepts (years 0001 to 9999).
_MIN_SECONDS = -62135596800
_MAX_SECONDS = 253402300799


@cache
def _fast_renderer(descriptor: Descriptor) -> Callable[[Message], dict[str, Any]] | None:
    """A renderer for `descriptor`'s messages, or None when one of its fields needs
    json_format (enums, floats, bytes, oneofs, maps of messages...)."""
    if descriptor.oneofs:
        return None
    plan: list[tuple[str, str, _Render | None, bool]] = []
    for field in descriptor.fields:
        step = _field_step(field)
        if step is None:
            return None
        convert, has_presence = step
        plan.append((field.name, field.json_name, convert, has_presence))

    def render(message: Message) -> dict[str, Any]:
        document: dict[str, Any] = {}
        for name, json_name, convert, has_presence in plan:
            if has_presence and not message.HasField(name):
                document[json_name] = None
                continue
            value = getattr(message, name)
            document[json_name] = value if convert is None else convert(value)
        return document

    return render


def _field_step(field: FieldDescriptor) -> tuple[_Render | None, bool] | None:
    """How to render one field (None: as it is) and whether it is a message that may be unset;
    None when the fast path does not handle it."""
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        value = _scalar_step(message_type.fields_by_name["value"])
        key = message_type.fields_by_name["key"]
        if value is None or key.type != _FD.TYPE_STRING:
            return None
        convert = value[0]
        if convert is None:
            return dict, False
        return (lambda values: {k: convert(v) for k, v in values.items()}), False
    if message_type is not None:
        item = _message_step(message_type)
        if field.is_repeated:
            return (lambda values: [item(value) for value in values]), False
        return item, True
    scalar = _scalar_step(field)
    if scalar is None:
        return None
    convert = scalar[0]
    if not field.is_repeated:
        return convert, False
    if convert is None:
        return list, False
    return (lambda values: [convert(value) for value in values]), False


def _scalar_step(field: FieldDescriptor) -> tuple[_Render | None] | None:
    if field.type in _STRINGS_AS_IS or field.type in _INTS_AS_NUMBERS:
        return (None,)
    if field.type in _INTS_AS_STRINGS:
        return (str,)
    return None


def _message_step(descriptor: Descriptor) -> _Render:
    if descriptor.full_name == _TIMESTAMP:
        return _timestamp
    if _is_well_known(descriptor):
        # Struct, Value, wrappers...: their own JSON forms, as json_format writes them.
        return lambda value: json_format.MessageToDict(value)
    return lambda value: render_dict(value)


@lru_cache(maxsize=4096)
def _date_text(days: int) -> str:
    return (_EPOCH + datetime.timedelta(days)).date().isoformat()


def _timestamp(value: Any) -> str:
    """Timestamp.ToJsonString's text, without its Python round trip through time tuples."""
    seconds, nanos = value.seconds, value.nanos
    if not _MIN_SECONDS <= seconds <= _MAX_SECONDS or not 0 <= nanos < 1_000_000_000:
        text: str = value.ToJsonString()  # its own checks and errors
        return text
    days, second_of_day = divmod(seconds, 86400)
    hours, rest = divmod(second_of_day, 3600)
    minutes, second = divmod(rest, 60)
    text = f"{_date_text(days)}T{hours:02d}:{minutes:02d}:{second:02d}"
    if nanos == 0:
        return text + "Z"
    if nanos % 1_000_000 == 0:
        return f"{text}.{nanos // 1_000_000:03d}Z"
    if nanos % 1000 == 0:
        return f"{text}.{nanos // 1000:06d}Z"
    return f"{text}.{nanos:09d}Z"
