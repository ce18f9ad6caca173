"""Build an RPC's request message from an HTTP request, the grpc-gateway v2 way.

Order: the JSON body (all of it for `body: "*"`, or into the named field), then the path
variables (so the path wins over the body), then the query string for every field that is
neither bound by the path nor covered by the body. Query keys are dotted field paths in proto
or JSON names (`pagination.page_size`, `pagination.pageSize`); a repeated field takes every
repetition (`ids=a&ids=b`); keys that name no field are ignored. Every bad value is a
GatewayError with INVALID_ARGUMENT naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from functools import cache, lru_cache
from typing import Any, TypeGuard, cast
from urllib.parse import parse_qsl

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from onehub.domain.limits import MAX_JSON_DEPTH, json_depth
from onehub.transport.gateway.errors import invalid_argument
from onehub.transport.gateway.routes import Binding

MAX_QUERY_FIELDS = 1000
_MAX_ECHO = 100

_INTEGER = re.compile(r"[+-]?[0-9]+")
_TRUE = frozenset({"1", "t", "T", "true", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False"})
_FD = FieldDescriptor
_INTEGER_TYPES = frozenset(
    {
        _FD.TYPE_INT32, _FD.TYPE_INT64, _FD.TYPE_UINT32, _FD.TYPE_UINT64, _FD.TYPE_SINT32,
        _FD.TYPE_SINT64, _FD.TYPE_FIXED32, _FD.TYPE_FIXED64, _FD.TYPE_SFIXED32, _FD.TYPE_SFIXED64,
    }
)  # fmt: skip
# Message types whose JSON form is a string, so a query or path value can set them.
_STRING_FORM_TYPES = frozenset(
    {"google.protobuf.Timestamp", "google.protobuf.Duration", "google.protobuf.FieldMask"}
)
_WRAPPER_TYPES = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes")
)
_PARAMETER_MESSAGE_TYPES = _STRING_FORM_TYPES | _WRAPPER_TYPES
# Free-form JSON: deeper than MAX_JSON_DEPTH it may not survive protobuf's decoder on the next hop.
_JSON_VALUE_TYPES = frozenset(
    {"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"}
)


def build_request(
    binding: Binding,
    request: Message,
    path_values: Mapping[str, str],
    query_string: bytes,
    body: bytes,
) -> Message:
    """Fill the empty `request` and return it; raise GatewayError (400) on any bad input."""
    if binding.body and body.strip():
        document = parse_json(body)
        if binding.body == "*":
            if not isinstance(document, dict):
                raise invalid_argument("the request body must be a JSON object")
            _parse_into(document, request)
        else:
            _parse_into({binding.body: document}, request)
    for field_path, chain in binding.path_fields:
        _assign(request, chain, [path_values[field_path]], f"path parameter {field_path!r}")
    if query_string and binding.body != "*":
        _apply_query(request, binding, query_string)
    return request


def parse_json(body: bytes) -> Any:
    """The JSON document in `body`; strict JSON only (no NaN or Infinity, no numbers too
    large for a double)."""
    try:
        return json.loads(body, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        raise invalid_argument("the request body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError and ours
        raise invalid_argument(f"the request body is not valid JSON: {error}") from None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:_MAX_ECHO]} is too large")
    return value


def _parse_into(document: dict[str, Any], message: Message) -> None:
    try:
        _check_objects(document, cast(Descriptor, message.DESCRIPTOR), "")
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except RecursionError:
        raise invalid_argument("the request body is nested too deeply") from None
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise invalid_argument(f"invalid request body: {error}") from None


def _check_objects(value: Any, descriptor: Descriptor, where: str) -> None:
    """Refuse a non-object where a message belongs: json_format would read a string's
    characters as (unknown, ignored) field names and silently accept it. Refuse free-form JSON
    (Struct, Value, ListValue fields) nested deeper than MAX_JSON_DEPTH."""
    if not isinstance(value, dict):
        raise invalid_argument(f"{where} must be a JSON object")
    fields = _fields_by_any_name(descriptor)
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
                    _check_objects(map_value, value_type, f"{name}[{map_key!r}]")
        elif not _is_plain_message(message_type):
            continue
        elif not field.is_repeated:
            _check_objects(item, message_type, name)
        elif isinstance(item, list):  # json_format reports a non-list itself
            for index, element in enumerate(item):
                _check_objects(element, message_type, f"{name}[{index}]")


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


def _apply_query(request: Message, binding: Binding, query_string: bytes) -> None:
    try:
        pairs = parse_qsl(
            query_string.decode(),
            keep_blank_values=True,
            errors="strict",
            max_num_fields=MAX_QUERY_FIELDS,
        )
    except UnicodeDecodeError:
        raise invalid_argument("the query string is not valid percent-encoded UTF-8") from None
    except ValueError:
        raise invalid_argument(
            f"the query string has more than {MAX_QUERY_FIELDS} fields"
        ) from None
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    bound = [tuple(f.name for f in chain) for _, chain in binding.path_fields]
    for key, values in grouped.items():
        chain = _resolve_query_key(request.DESCRIPTOR, key)
        if chain is None:
            continue
        names = tuple(f.name for f in chain)
        if names[0] == binding.body or any(
            names[: len(b)] == b or b[: len(names)] == names for b in bound
        ):
            continue
        _assign(request, chain, values, f"query parameter {key!r}")


@cache
def _fields_by_any_name(descriptor: Descriptor) -> dict[str, FieldDescriptor]:
    fields = {f.json_name: f for f in descriptor.fields}
    fields.update(descriptor.fields_by_name)
    return fields


@lru_cache(maxsize=4096)
def _resolve_query_key(descriptor: Descriptor, key: str) -> tuple[FieldDescriptor, ...] | None:
    chain: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for name in key.split("."):
        if current is None or (field := _fields_by_any_name(current).get(name)) is None:
            return None
        chain.append(field)
        message_type = field.message_type
        descend = (
            message_type is not None
            and not field.is_repeated
            and message_type.full_name not in _PARAMETER_MESSAGE_TYPES
        )
        current = message_type if descend else None
    return tuple(chain)


def _assign(
    message: Message, chain: tuple[FieldDescriptor, ...], values: list[str], what: str
) -> None:
    target = message
    for field in chain[:-1]:
        target = getattr(target, field.name)
    leaf = chain[-1]
    kind = leaf.message_type.full_name if leaf.message_type is not None else None
    if kind is not None and kind not in _PARAMETER_MESSAGE_TYPES:
        raise invalid_argument(f"{what} names a field that a parameter cannot set")
    if not leaf.is_repeated and len(values) > 1:
        raise invalid_argument(f"{what} is given {len(values)} times but takes one value")
    try:
        if kind is not None:
            if leaf.is_repeated:
                for value in values:
                    _parse_message_value(value, getattr(target, leaf.name).add(), what)
            else:
                submessage = getattr(target, leaf.name)
                submessage.SetInParent()
                _parse_message_value(values[0], submessage, what)
        elif leaf.is_repeated:
            getattr(target, leaf.name).extend(_scalar(leaf, v, what) for v in values)
        else:
            setattr(target, leaf.name, _scalar(leaf, values[0], what))
    except (ValueError, TypeError) as error:  # e.g. an int32 out of range
        raise invalid_argument(f"{what}: {error}") from None


def _parse_message_value(text: str, message: Message, what: str) -> None:
    if message.DESCRIPTOR.full_name in _WRAPPER_TYPES:
        value_field = cast(FieldDescriptor, message.DESCRIPTOR.fields_by_name["value"])
        setattr(message, "value", _scalar(value_field, text, what))  # noqa: B010 - any wrapper
        return
    try:
        # ParseDict takes any JSON value; these types' JSON form is a string.
        json_format.ParseDict(text, message)  # type: ignore[arg-type]
    except json_format.ParseError:
        raise invalid_argument(
            f'{what}: "{text[:_MAX_ECHO]}" is not a valid {message.DESCRIPTOR.name}'
        ) from None


def _scalar(field: FieldDescriptor, text: str, what: str) -> Any:
    kind = field.type
    if kind == _FD.TYPE_STRING:
        return text
    if kind in _INTEGER_TYPES:
        if _INTEGER.fullmatch(text):
            return int(text)
    elif kind in (_FD.TYPE_DOUBLE, _FD.TYPE_FLOAT):
        if "_" not in text:
            try:
                return float(text)
            except ValueError:
                pass
    elif kind == _FD.TYPE_BOOL:
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
    elif field.enum_type is not None:
        enum_value = field.enum_type.values_by_name.get(text)
        if enum_value is not None:
            return enum_value.number
        if _INTEGER.fullmatch(text):
            return int(text)
    elif kind == _FD.TYPE_BYTES:
        try:
            padded = text + "=" * (-len(text) % 4)
            if "-" in text or "_" in text:
                return base64.urlsafe_b64decode(padded)
            return base64.b64decode(padded, validate=True)
        except binascii.Error:
            pass
    expected = _type_name(field)
    raise invalid_argument(f'{what}: "{text[:_MAX_ECHO]}" is not a valid {expected}')


def _type_name(field: FieldDescriptor) -> str:
    if field.enum_type is not None:
        names = ", ".join(v.name for v in field.enum_type.values)
        return f"{field.enum_type.name} (one of {names})"
    return _TYPE_NAMES.get(field.type, "value")


_TYPE_NAMES = {
    _FD.TYPE_INT32: "int32", _FD.TYPE_SINT32: "int32", _FD.TYPE_SFIXED32: "int32",
    _FD.TYPE_INT64: "int64", _FD.TYPE_SINT64: "int64", _FD.TYPE_SFIXED64: "int64",
    _FD.TYPE_UINT32: "uint32", _FD.TYPE_FIXED32: "uint32",
    _FD.TYPE_UINT64: "uint64", _FD.TYPE_FIXED64: "uint64",
    _FD.TYPE_DOUBLE: "number", _FD.TYPE_FLOAT: "number",
    _FD.TYPE_BOOL: "boolean (true or false)", _FD.TYPE_BYTES: "base64 string",
}  # fmt: skip
