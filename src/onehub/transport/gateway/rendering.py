"""Responses as grpc-gateway v2 renders them by default (protojson with EmitUnpopulated).

`json_format.MessageToDict(always_print_fields_with_no_presence=True)` already prints unset
scalars, lists and maps. What it leaves out, and grpc-gateway prints as `null`, is an unset
singular message field outside any oneof (a proto3 `optional` field is in a synthetic oneof, so
it stays out in both). `render_json` adds those nulls, at every depth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

# Well-known types have their own JSON forms (a string, any JSON value...), not field objects.
_WELL_KNOWN_PREFIX = "google.protobuf."


def render_json(response: Message, field: str | None = None) -> bytes:
    """`response` (or only its `field`, a field name) as compact UTF-8 JSON."""
    document: Any = json_format.MessageToDict(response, always_print_fields_with_no_presence=True)
    _add_unset_messages(response, document)
    if field is not None:
        document = document.get(response.DESCRIPTOR.fields_by_name[field].json_name)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


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
