"""Reading a whole-request JSON body (`body: "*"`) into its request message, element by element.

A bulk request is one large array of messages (`{"messages": [...]}`, many megabytes). Decoding
the whole document first would hold a Python object for every value of every element at once,
several times the body's size; here the top-level object is walked by hand, and each element of
a repeated message field is decoded, converted into the request and dropped before the next one
is read. Other top-level fields are gathered and parsed as usual.

Each element takes a fast path for the common shapes (strings, booleans, 32/64-bit integers,
nested messages, RFC 3339 timestamps in UTC, lists of strings, string maps) that builds the
message in one constructor call. Anything else, including every input the fast path is not sure
about, goes through `json_format.ParseDict`, which also words the errors; so both paths accept
and refuse exactly the same bodies.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, TypeGuard, cast

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from onehub.domain.limits import MAX_JSON_DEPTH, json_depth
from onehub.transport.gateway.errors import invalid_argument

_FD = FieldDescriptor
MAX_ECHO = 100
_NOT_SPACE = re.compile(r"[^ \t\n\r]")
_SPACE = re.compile(r"[ \t\n\r]*")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?Z"
)
_EPOCH_DAY = datetime.date(1970, 1, 1).toordinal()
_INT32_TYPES = frozenset({_FD.TYPE_INT32, _FD.TYPE_SINT32, _FD.TYPE_SFIXED32})
_UINT32_TYPES = frozenset({_FD.TYPE_UINT32, _FD.TYPE_FIXED32})
_INT64_TYPES = frozenset({_FD.TYPE_INT64, _FD.TYPE_SINT64, _FD.TYPE_SFIXED64})
_UINT64_TYPES = frozenset({_FD.TYPE_UINT64, _FD.TYPE_FIXED64})
_INT_RANGES = (
    *((kind, (-(2**31), 2**31 - 1)) for kind in _INT32_TYPES),
    *((kind, (0, 2**32 - 1)) for kind in _UINT32_TYPES),
    *((kind, (-(2**63), 2**63 - 1)) for kind in _INT64_TYPES),
    *((kind, (0, 2**64 - 1)) for kind in _UINT64_TYPES),
)


class _Slow(Exception):
    """The fast path does not handle this value; json_format decides."""


Convert = Callable[[Any], Any]

# Free-form JSON: deeper than MAX_JSON_DEPTH it may not survive protobuf's decoder on the next hop.
_JSON_VALUE_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)


def fill_whole_body(
    text: str, start: int, request: Message, parse_into: Callable[[dict[str, Any]], None]
) -> None:
    """Fill `request` from the JSON object that begins at `text[start]` ("{"), streaming its
    repeated message fields; the other fields go to `parse_into` as one dict. Raise
    GatewayError (400) for bad JSON or a bad value, naming the element's index."""
    descriptor = cast(Descriptor, request.DESCRIPTOR)
    streamed = _streamed_fields(descriptor)
    decoder = _decoder()
    rest: dict[str, Any] = {}
    seen: set[str] = set()
    try:
        pos = _skip(text, start + 1)
        if text.startswith("}", pos):
            pos += 1
        else:
            while True:
                if not text.startswith('"', pos):
                    raise _syntax("Expecting property name enclosed in double quotes", text, pos)
                key, pos = decoder.raw_decode(text, pos)
                pos = _skip(text, pos)
                if not text.startswith(":", pos):
                    raise _syntax("Expecting ':' delimiter", text, pos)
                pos = _skip(text, pos + 1)
                field = streamed.get(key)
                if field is not None and text.startswith("[", pos):
                    if field.name in seen:
                        raise invalid_argument(f"the request body gives {key!r} twice")
                    seen.add(field.name)
                    container = getattr(request, field.name)
                    element_type = cast(Descriptor, field.message_type)
                    pos = _stream_array(text, pos, decoder, container, element_type, key)
                else:
                    rest[key], pos = decoder.raw_decode(text, pos)
                pos = _skip(text, pos)
                if text.startswith(",", pos):
                    pos = _skip(text, pos + 1)
                    continue
                if text.startswith("}", pos):
                    pos += 1
                    break
                raise _syntax("Expecting ',' delimiter", text, pos)
        if _NOT_SPACE.search(text, pos) is not None:
            raise _syntax("Extra data", text, _skip(text, pos))
    except RecursionError:
        raise invalid_argument("the request body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and the number hooks' errors
        raise invalid_argument(f"the request body is not valid JSON: {error}") from None
    if rest:
        parse_into(rest)


def first_non_space(text: str) -> int | None:
    """Where the JSON document in `text` begins; None when there is only whitespace."""
    found = _NOT_SPACE.search(text)
    return None if found is None else found.start()


def _stream_array(
    text: str,
    pos: int,
    decoder: json.JSONDecoder,
    container: Any,
    descriptor: Descriptor,
    key: str,
) -> int:
    """Decode the array at `text[pos]` ("[") element by element into `container`."""
    convert = _message_converter(descriptor)
    pos = _skip(text, pos + 1)
    if text.startswith("]", pos):
        return pos + 1
    index = 0
    while True:
        element, pos = decoder.raw_decode(text, pos)
        _add_element(container, element, descriptor, convert, f"{key}[{index}]")
        index += 1
        pos = _skip(text, pos)
        if text.startswith(",", pos):
            pos = _skip(text, pos + 1)
        elif text.startswith("]", pos):
            return pos + 1
        else:
            raise _syntax("Expecting ',' delimiter", text, pos)


def _add_element(
    container: Any, element: Any, descriptor: Descriptor, convert: Convert, where: str
) -> None:
    try:
        container.add(**convert(element))
        return
    except (_Slow, ValueError, TypeError):
        pass  # json_format decides, and words the error
    check_objects(element, descriptor, where)
    try:
        json_format.ParseDict(element, container.add(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise invalid_argument(f"invalid request body: {where}: {error}") from None


def _skip(text: str, pos: int) -> int:
    found = _SPACE.match(text, pos)
    return pos if found is None else found.end()


def _syntax(message: str, text: str, pos: int) -> json.JSONDecodeError:
    return json.JSONDecodeError(message, text, pos)


@cache
def _decoder() -> json.JSONDecoder:
    return json.JSONDecoder(parse_constant=reject_constant, parse_float=finite_float)


def reject_constant(name: str) -> Any:
    """Refuse NaN and Infinity: they are not JSON."""
    raise ValueError(f"{name} is not JSON")


def finite_float(text: str) -> float:
    """A JSON number as a float; ValueError for one too large for a double."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:MAX_ECHO]} is too large")
    return value


def check_objects(value: Any, descriptor: Descriptor, where: str) -> None:
    """Refuse a non-object where a message belongs: json_format would read a string's
    characters as (unknown, ignored) field names and silently accept it. Refuse free-form JSON
    (Struct, Value, ListValue fields) nested deeper than MAX_JSON_DEPTH."""
    if not isinstance(value, dict):
        raise invalid_argument(f"{where} must be a JSON object")
    fields = fields_by_any_name(descriptor)
    for key, item in value.items():
        field = fields.get(key)
        if field is None or item is None or (message_type := field.message_type) is None:
            continue
        name = f"{where}.{key}" if where else key
        if message_type.full_name in _JSON_VALUE_TYPES:
            _check_depth(item if field.is_repeated and isinstance(item, list) else [item], name)
        elif message_type.GetOptions().map_entry:
            value_type = message_type.fields_by_name["value"].message_type
            json_values = value_type is not None and value_type.full_name in _JSON_VALUE_TYPES
            if isinstance(item, dict) and json_values:
                _check_depth(list(item.values()), name)
            if isinstance(item, dict) and _is_plain_message(value_type):
                for map_key, map_value in item.items():
                    check_objects(map_value, value_type, f"{name}[{map_key!r}]")
        elif not _is_plain_message(message_type):
            continue
        elif not field.is_repeated:
            check_objects(item, message_type, name)
        elif isinstance(item, list):  # json_format reports a non-list itself
            for index, element in enumerate(item):
                check_objects(element, message_type, f"{name}[{index}]")


def _check_depth(values: list[Any], name: str) -> None:
    for value in values:
        depth = json_depth(value)
        if depth > MAX_JSON_DEPTH:
            raise invalid_argument(
                f"{name} is nested {depth} levels deep; at most {MAX_JSON_DEPTH} levels of "
                "objects and arrays are allowed"
            )


def _is_plain_message(descriptor: Descriptor | None) -> TypeGuard[Descriptor]:
    """A message whose JSON form is an object of its fields (not a well-known type)."""
    return descriptor is not None and not descriptor.full_name.startswith("google.protobuf.")


@cache
def fields_by_any_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    """A message's fields by JSON name and by proto name."""
    fields = {f.json_name: f for f in descriptor.fields}
    fields.update(descriptor.fields_by_name)
    return fields


@cache
def _streamed_fields(descriptor: Descriptor) -> Mapping[str, FieldDescriptor]:
    """Repeated fields of plain messages, by JSON and proto name."""
    fields: dict[str, FieldDescriptor] = {}
    for field in descriptor.fields:
        message_type = field.message_type
        if (
            field.is_repeated
            and _is_plain_message(message_type)
            and not message_type.GetOptions().map_entry
        ):
            fields[field.json_name] = field
            fields[field.name] = field
    return fields


# --- the fast path ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    convert: Convert


@cache
def _message_converter(descriptor: Descriptor) -> Convert:
    """A function from a JSON object to the keyword arguments that build `descriptor`'s
    message; it raises _Slow for anything it does not handle exactly as json_format does."""
    if descriptor.oneofs:
        return _always_slow
    fields: dict[str, _Field | None] = {}
    for field in descriptor.fields:
        plan = _field_plan(field)
        fields[field.json_name] = plan
        fields[field.name] = plan

    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Slow
        kwargs: dict[str, Any] = {}
        for key, item in value.items():
            if key not in fields:
                continue  # unknown fields are ignored, as json_format is told to
            plan = fields[key]
            if plan is None or plan.name in kwargs:
                raise _Slow
            kwargs[plan.name] = plan.convert(item)
        return kwargs

    return convert


def _always_slow(value: Any) -> Any:
    raise _Slow


def _field_plan(field: FieldDescriptor) -> _Field | None:
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        key = message_type.fields_by_name["key"]
        value = _scalar_converter(message_type.fields_by_name["value"])
        if key.type != _FD.TYPE_STRING or value is None:
            return None
        return _Field(field.name, _map_of(value))
    if message_type is not None:
        if message_type.full_name == "google.protobuf.Timestamp":
            item: Convert | None = _timestamp
        elif message_type.full_name.startswith("google.protobuf."):
            item = None
        else:
            item = _message_converter(message_type)
    else:
        item = _scalar_converter(field)
    if item is None:
        return None
    return _Field(field.name, _list_of(item) if field.is_repeated else item)


def _scalar_converter(field: FieldDescriptor) -> Convert | None:
    kind = field.type
    if kind == _FD.TYPE_STRING:
        return _string
    if kind == _FD.TYPE_BOOL:
        return _boolean
    for integer_kind, (low, high) in _INT_RANGES:
        if kind == integer_kind:
            return _integer(low, high)
    return None  # floats, enums and bytes have JSON forms the fast path leaves to json_format


def _string(value: Any) -> str:
    if type(value) is not str:
        raise _Slow
    return value


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise _Slow
    return value


def _integer(low: int, high: int) -> Convert:
    def convert(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise _Slow
        return value

    return convert


def _list_of(item: Convert) -> Convert:
    def convert(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _Slow
        return [item(each) for each in value]

    return convert


def _map_of(item: Convert) -> Convert:
    def convert(value: Any) -> dict[str, Any]:
        if type(value) is not dict:
            raise _Slow
        return {key: item(each) for key, each in value.items()}

    return convert


def _timestamp(value: Any) -> dict[str, int]:
    """An RFC 3339 time in UTC ("Z"), as protobuf reads it; other forms go the slow way."""
    if type(value) is not str or _TIMESTAMP.fullmatch(value) is None:
        raise _Slow
    # The pattern fixed every position: YYYY-MM-DDTHH:MM:SS[.fraction]Z
    hours, minutes, seconds = int(value[11:13]), int(value[14:16]), int(value[17:19])
    if hours > 23 or minutes > 59 or seconds > 59:
        raise _Slow
    nanos = int(value[20:-1].ljust(9, "0")) if len(value) > 20 else 0
    return {
        "seconds": _days_since_epoch(value[:10]) * 86400 + hours * 3600 + minutes * 60 + seconds,
        "nanos": nanos,
    }


@lru_cache(maxsize=4096)
def _days_since_epoch(date: str) -> int:
    if date.startswith("0000"):
        raise _Slow
    try:
        return datetime.date.fromisoformat(date).toordinal() - _EPOCH_DAY
    except ValueError:
        raise _Slow from None
