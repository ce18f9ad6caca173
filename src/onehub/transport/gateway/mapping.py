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
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, cast
from urllib.parse import parse_qsl

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from onehub.transport.gateway.errors import invalid_argument
from onehub.transport.gateway.json_body import (
    MAX_ECHO,
    check_objects,
    fields_by_any_name,
    fill_whole_body,
    finite_float,
    first_non_space,
    reject_constant,
)
from onehub.transport.gateway.routes import Binding

MAX_QUERY_FIELDS = 1000

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


def build_request(
    binding: Binding,
    request: Message,
    path_values: Mapping[str, str],
    query_string: bytes,
    body: bytes | bytearray,
) -> Message:
    """Fill the empty `request` and return it; raise GatewayError (400) on any bad input.

    A whole-request body (`body: "*"`) is read element by element (see `json_body`), so a
    bulk request never exists as one large tree of Python objects.
    """
    text = _body_text(body) if binding.body else ""
    start = first_non_space(text)
    if start is not None:
        if binding.body == "*" and text.startswith("{", start):
            fill_whole_body(text, start, request, lambda rest: _parse_into(rest, request))
        else:
            document = parse_json(text)
            if binding.body == "*":
                raise invalid_argument("the request body must be a JSON object")
            _parse_into({binding.body: document}, request)
    del text
    for field_path, chain in binding.path_fields:
        _assign(request, chain, [path_values[field_path]], f"path parameter {field_path!r}")
    if query_string and binding.body != "*":
        _apply_query(request, binding, query_string)
    return request


def _body_text(body: bytes | bytearray) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise invalid_argument(f"the request body is not valid JSON: {error}") from None


def parse_json(body: str) -> Any:
    """The JSON document in `body`; strict JSON only (no NaN or Infinity, no numbers too
    large for a double)."""
    try:
        return json.loads(body, parse_constant=reject_constant, parse_float=finite_float)
    except RecursionError:
        raise invalid_argument("the request body is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError and ours
        raise invalid_argument(f"the request body is not valid JSON: {error}") from None


def _parse_into(document: dict[str, Any], message: Message) -> None:
    try:
        check_objects(document, cast(Descriptor, message.DESCRIPTOR), "")
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except RecursionError:
        raise invalid_argument("the request body is nested too deeply") from None
    except (json_format.ParseError, ValueError, TypeError) as error:
        raise invalid_argument(f"invalid request body: {error}") from None


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


@lru_cache(maxsize=4096)
def _resolve_query_key(descriptor: Descriptor, key: str) -> tuple[FieldDescriptor, ...] | None:
    chain: list[FieldDescriptor] = []
    current: Descriptor | None = descriptor
    for name in key.split("."):
        if current is None or (field := fields_by_any_name(current).get(name)) is None:
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
            f'{what}: "{text[:MAX_ECHO]}" is not a valid {message.DESCRIPTOR.name}'
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
    raise invalid_argument(f'{what}: "{text[:MAX_ECHO]}" is not a valid {expected}')


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
