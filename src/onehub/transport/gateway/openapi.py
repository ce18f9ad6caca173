"""The OpenAPI 3.1 document of the REST API, built from the same bindings the gateway serves.

Paths are the templates written OpenAPI-style (`/v1/topics/{id}`, `/v1/topics/{topic.base.id}`),
relative to the server `/api` (the gateway also serves them bare). Schemas describe the proto3
JSON mapping with lowerCamelCase property names, as responses are rendered.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from onehub.domain.limits import (
    MAX_CONTENT_BYTES,
    MAX_JSON_DEPTH,
    MAX_MEMBER_ID_BYTES,
    MAX_PROFILE_DATA_BYTES,
    MAX_TOPIC_MEMBERS,
)
from onehub.services.ids import MAX_BATCH_SIZE, MAX_ID_LENGTH, MAX_NAME_LENGTH
from onehub.services.users import MAX_AVATAR_LENGTH
from onehub.transport.gateway.routes import Binding

_FD = FieldDescriptor


def _integer(minimum: int, maximum: int, digits: int) -> dict[str, Any]:
    """proto3 JSON reads an integer as a number or a decimal string (and writes 64-bit ones
    as strings); the string pattern is kept short enough that every match is in range."""
    sign = "-?" if minimum < 0 else ""
    return {
        "type": ["integer", "string"],
        "minimum": minimum,
        "maximum": maximum,
        "pattern": f"^{sign}[0-9]{{1,{digits}}}$",
    }


_INT32 = _integer(-(2**31), 2**31 - 1, 9)
_UINT32 = _integer(0, 2**32 - 1, 9)
_INT64 = {**_integer(-(2**63), 2**63 - 1, 18), "format": "int64"}
_UINT64 = {**_integer(0, 2**64 - 1, 19), "format": "int64"}
_NUMBER = {"type": ["number", "string"], "pattern": "^-?[0-9]{1,15}(\\.[0-9]{1,15})?$"}
_SCALAR_SCHEMAS: dict[int, dict[str, Any]] = {
    _FD.TYPE_STRING: {"type": "string"},
    _FD.TYPE_BOOL: {"type": "boolean"},
    _FD.TYPE_BYTES: {"type": "string", "format": "byte", "contentEncoding": "base64"},
    _FD.TYPE_DOUBLE: _NUMBER,
    _FD.TYPE_FLOAT: _NUMBER,
    _FD.TYPE_INT32: _INT32, _FD.TYPE_SINT32: _INT32, _FD.TYPE_SFIXED32: _INT32,
    _FD.TYPE_UINT32: _UINT32, _FD.TYPE_FIXED32: _UINT32,
    _FD.TYPE_INT64: _INT64, _FD.TYPE_SINT64: _INT64, _FD.TYPE_SFIXED64: _INT64,
    _FD.TYPE_UINT64: _UINT64, _FD.TYPE_FIXED64: _UINT64,
}  # fmt: skip
# What protobuf's Timestamp parser accepts, kept on the safe side (days up to 28, hours
# 00-23), so that no string the pattern admits is refused.
_RFC3339 = (
    "^(000[1-9]|00[1-9][0-9]|0[1-9][0-9]{2}|[1-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
    "T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]{1,9})?(Z|[+-](0[0-9]|1[0-9]|2[0-3]):[0-5][0-9])$"
)
_DEPTH_NOTE = f"at most {MAX_JSON_DEPTH} levels of objects and arrays deep"
# Well-known types have their own JSON forms (the proto3 JSON mapping).
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time", "pattern": _RFC3339},
    "google.protobuf.Duration": {"type": "string", "pattern": "^-?[0-9]{1,11}(\\.[0-9]{1,9})?s$"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "comma-separated lowerCamelCase field paths",
        "pattern": "^[^_]*$",
    },
    "google.protobuf.Struct": {
        "type": "object",
        "additionalProperties": True,
        "description": f"any JSON object, {_DEPTH_NOTE}",
    },
    "google.protobuf.Value": {"description": f"any JSON value, {_DEPTH_NOTE}"},
    "google.protobuf.ListValue": {
        "type": "array",
        "description": f"any JSON array, {_DEPTH_NOTE}",
    },
    "google.protobuf.Empty": {"type": "object"},
    "google.protobuf.Any": {
        "type": "object",
        "properties": {"@type": {"type": "string"}},
        "required": ["@type"],
        "additionalProperties": True,
    },
}
_WRAPPERS = {
    f"google.protobuf.{name}Value": scalar
    for name, scalar in (
        ("Double", _FD.TYPE_DOUBLE), ("Float", _FD.TYPE_FLOAT), ("Int64", _FD.TYPE_INT64),
        ("UInt64", _FD.TYPE_UINT64), ("Int32", _FD.TYPE_INT32), ("UInt32", _FD.TYPE_UINT32),
        ("Bool", _FD.TYPE_BOOL), ("String", _FD.TYPE_STRING), ("Bytes", _FD.TYPE_BYTES),
    )
}  # fmt: skip
# Types a query parameter can carry as one string.
_QUERY_MESSAGES = {
    "google.protobuf.Timestamp",
    "google.protobuf.Duration",
    "google.protobuf.FieldMask",
}
_MAX_QUERY_DEPTH = 4
API_NOTES = (
    f"Limits (a request over one is a 400 naming it, and nothing is stored): a message's content "
    f"(contentText as UTF-8 plus contentData as its protobuf Struct encoding) may take at most "
    f"{MAX_CONTENT_BYTES} bytes; a user's profileData at most {MAX_PROFILE_DATA_BYTES} bytes "
    f"(Struct encoding); JSON objects (contentData, profileData) may nest at most "
    f"{MAX_JSON_DEPTH} levels. A topic may have at most {MAX_TOPIC_MEMBERS} members, whose ids "
    f"take at most {MAX_MEMBER_ID_BYTES} bytes of UTF-8 together, and every member must be an "
    f"existing user (the caller excepted). Names and contentType take at most "
    f"{MAX_NAME_LENGTH} characters, ids {MAX_ID_LENGTH}, an avatar {MAX_AVATAR_LENGTH}. Data "
    "stored before a limit is served cut to it. Page keys (nextPageKey) are opaque and signed: "
    "pass them back unchanged, to the same list; anything else is a 400."
)
_ID_NOTE = f"at most {MAX_ID_LENGTH} characters, no '/', whitespace or control characters"
# Schema keywords stating the services' limits, by proto field.
_FIELD_LIMITS: dict[str, dict[str, Any]] = {
    "onehub.v1.MessageBase.id": {"maxLength": MAX_ID_LENGTH, "description": _ID_NOTE},
    "onehub.v1.User.id": {"maxLength": MAX_ID_LENGTH, "description": _ID_NOTE},
    "onehub.v1.User.name": {"maxLength": MAX_NAME_LENGTH},
    "onehub.v1.User.avatar": {"maxLength": MAX_AVATAR_LENGTH},
    "onehub.v1.User.profile_data": {
        "description": f"any JSON object, {_DEPTH_NOTE}, taking at most "
        f"{MAX_PROFILE_DATA_BYTES} bytes as a protobuf Struct"
    },
    "onehub.v1.Topic.name": {"maxLength": MAX_NAME_LENGTH},
    "onehub.v1.Topic.users": {
        "maxProperties": MAX_TOPIC_MEMBERS,
        "description": f"members keyed by user id, each an existing user (or the caller); at "
        f"most {MAX_TOPIC_MEMBERS}, their ids taking at most {MAX_MEMBER_ID_BYTES} bytes of "
        "UTF-8 together",
    },
    "onehub.v1.UpdateTopicRequest.add_users": {
        "maxItems": MAX_BATCH_SIZE,
        "description": "ids of existing users to add (the topic's member limits still hold)",
    },
    "onehub.v1.UpdateTopicRequest.remove_users": {"maxItems": MAX_BATCH_SIZE},
    "onehub.v1.ContentBase.content_type": {"maxLength": MAX_NAME_LENGTH},
}
_VARIABLE = re.compile(r"\{[^}]*\}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "code": {"type": "integer", "description": "the gRPC status code"},
        "message": {"type": "string"},
        "details": {"type": "array", "items": {"type": "object"}},
        "traceId": {"type": "string", "description": "the trace of this request"},
    },
    "required": ["code", "message", "details"],
}


def openapi_document(
    bindings: Sequence[Binding],
    *,
    title: str = "OneHub API",
    version: str = "v1",
    description: str = API_NOTES,
    body_limits: Mapping[str, int] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The document for `bindings`; every binding is one operation.

    OpenAPI forbids two paths that differ only in their parameter names, and common tools
    cannot fill dotted names, so templates of one shape share one path whose parameters
    are named after the first binding's last field names: `GET /v1/topics/{id=*}` and
    `PATCH /v1/topics/{topic.base.id=*}` both live at `/v1/topics/{id}`, and the PATCH's
    `id` parameter says that it sets `topic.base.id`.

    `body_limits` (full method name to bytes) states each body's largest accepted size, and
    `descriptions` (full method name to text) becomes the operation's description.
    """
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: dict[str, int] = {}
    names_by_shape: dict[str, list[str]] = {}
    for binding in bindings:
        shape = _VARIABLE.sub("{}", binding.route)
        names = names_by_shape.setdefault(shape, _parameter_names(binding))
        path = shape.format(*(f"{{{name}}}" for name in names))
        service = binding.method.containing_service.name
        base_id = f"{service}_{binding.method.name}"
        operation_ids[base_id] = operation_ids.get(base_id, 0) + 1
        count = operation_ids[base_id]
        operation_id = base_id if count == 1 else f"{base_id}{count}"
        operation = _operation(binding, operation_id, names, schemas)
        full_name = binding.method.full_name
        if descriptions and full_name in descriptions:
            operation["description"] = descriptions[full_name]
        if binding.body and body_limits and full_name in body_limits:
            _state_body_limit(operation, body_limits[full_name])
        paths.setdefault(path, {})[binding.http_method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": "/api"}],
        "security": [{"basicAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"basicAuth": {"type": "http", "scheme": "basic"}},
        },
    }


def _state_body_limit(operation: dict[str, Any], limit: int) -> None:
    text = f"At most {limit} bytes ({_size(limit)}); a larger body is refused with 413."
    operation["requestBody"]["description"] = text
    operation["requestBody"]["x-max-body-bytes"] = limit
    operation["responses"]["413"] = {
        "description": f"The request body is larger than {limit} bytes",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _size(limit: int) -> str:
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if limit >= scale:
            return f"{limit / scale:g} {unit}"
    return f"{limit} B"


def _parameter_names(binding: Binding) -> list[str]:
    short = [field_path.rsplit(".", 1)[-1] for field_path, _ in binding.path_fields]
    if len(set(short)) == len(short):
        return short
    return [field_path.replace(".", "_") for field_path, _ in binding.path_fields]


def _operation(
    binding: Binding, operation_id: str, path_names: list[str], schemas: dict[str, Any]
) -> dict[str, Any]:
    method = binding.method
    parameters: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": f"sets the request's `{field_path}`",
            "schema": _path_schema(chain[-1]),
        }
        for name, (field_path, chain) in zip(path_names, binding.path_fields, strict=True)
    ]
    if binding.body != "*":
        bound = [tuple(f.name for f in chain) for _, chain in binding.path_fields]
        excluded = [*bound, (binding.body,)] if binding.body else bound
        parameters.extend(_query_parameters(method.input_type, (), excluded))
    response_schema = (
        _field_schema(method.output_type.fields_by_name[binding.response_body], schemas)
        if binding.response_body
        else _message_schema(method.output_type, schemas)
    )
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "tags": [method.containing_service.name],
        "summary": f"{method.containing_service.full_name}/{method.name}",
        "parameters": parameters,
        "responses": {
            "200": {
                "description": "OK",
                "content": {"application/json": {"schema": response_schema}},
            },
            "401": {
                "description": "Missing or wrong credentials",
                "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
            "default": {
                "description": "An error; the status follows the gRPC code",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        },
    }
    if binding.body:
        operation["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": _body_schema(binding, schemas)}},
        }
    return operation


def _path_schema(field: FieldDescriptor) -> dict[str, Any]:
    schema = _scalar_schema(field)
    # A `*` segment is never empty.
    return {**schema, "minLength": 1} if schema.get("type") == "string" else schema


def _body_schema(binding: Binding, schemas: dict[str, Any]) -> dict[str, Any]:
    request = binding.method.input_type
    if binding.body != "*":
        return _field_schema(request.fields_by_name[binding.body], schemas)
    top_level_bound = {chain[0].json_name for _, chain in binding.path_fields if len(chain) == 1}
    if not top_level_bound:
        return _message_schema(request, schemas)
    # The path supplies these fields, so the body does not describe them.
    properties = {
        f.json_name: _nullable(_field_schema(f, schemas))
        for f in request.fields
        if f.json_name not in top_level_bound
    }
    return {"type": "object", "properties": properties}


def _query_parameters(
    message: Descriptor, prefix: tuple[str, ...], excluded: list[tuple[str, ...]]
) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for field in message.fields:
        names = (*prefix, field.name)
        if any(names[: len(e)] == e or e[: len(names)] == names for e in excluded):
            if names not in excluded and (message_type := field.message_type) is not None:
                parameters.extend(_query_parameters(message_type, names, excluded))
            continue
        schema = _query_schema(field)
        if schema is not None:
            parameters.append({"name": ".".join(names), "in": "query", "schema": schema})
        elif (message_type := _descends(field)) is not None and len(names) < _MAX_QUERY_DEPTH:
            parameters.extend(_query_parameters(message_type, names, excluded))
    return parameters


def _descends(field: FieldDescriptor) -> Descriptor | None:
    """The message type whose fields become dotted query parameters, if there is one."""
    message_type = field.message_type
    if message_type is None or field.is_repeated:
        return None
    name = message_type.full_name
    return None if name in _WELL_KNOWN or name in _WRAPPERS else message_type


def _query_schema(field: FieldDescriptor) -> dict[str, Any] | None:
    message_type = field.message_type
    if message_type is None:
        item = _scalar_schema(field)
    elif message_type.full_name in _QUERY_MESSAGES:
        item = _WELL_KNOWN[message_type.full_name]
    elif message_type.full_name in _WRAPPERS:
        item = _SCALAR_SCHEMAS[_WRAPPERS[message_type.full_name]]
    else:
        return None
    return {"type": "array", "items": item} if field.is_repeated else item


def _scalar_schema(field: FieldDescriptor) -> dict[str, Any]:
    if field.enum_type is not None:
        return {"type": "string", "enum": [v.name for v in field.enum_type.values]}
    return _SCALAR_SCHEMAS[field.type]


def _field_schema(field: FieldDescriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    message_type = field.message_type
    if message_type is not None and message_type.GetOptions().map_entry:
        value = message_type.fields_by_name["value"]
        return {"type": "object", "additionalProperties": _field_schema(value, schemas)}
    item = (
        _message_schema(message_type, schemas)
        if message_type is not None
        else _scalar_schema(field)
    )
    return {"type": "array", "items": item} if field.is_repeated else item


def _message_schema(message: Descriptor, schemas: dict[str, Any]) -> dict[str, Any]:
    name = message.full_name
    if name in _WELL_KNOWN:
        return _WELL_KNOWN[name]
    if name in _WRAPPERS:
        return _SCALAR_SCHEMAS[_WRAPPERS[name]]
    if name not in schemas:
        schemas[name] = {}  # placed first, so recursive messages end in a $ref
        schemas[name] = {
            "type": "object",
            "properties": {
                f.json_name: _nullable(_limited(f, _field_schema(f, schemas)))
                for f in message.fields
            },
        }
    return {"$ref": f"#/components/schemas/{name}"}


def _limited(field: FieldDescriptor, schema: dict[str, Any]) -> dict[str, Any]:
    limits = _FIELD_LIMITS.get(field.full_name)
    return {**schema, **limits} if limits else schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """Any field may be `null`: proto3 JSON reads it as the default in requests, and responses
    send it for unset message fields (as grpc-gateway does)."""
    kind = schema.get("type")
    if isinstance(kind, str):
        nullable = {**schema, "type": [kind, "null"]}
        if "enum" in schema:
            nullable["enum"] = [*schema["enum"], None]
        return nullable
    if isinstance(kind, list):
        return {**schema, "type": [*kind, "null"]}
    if set(schema) <= {"description"}:  # google.protobuf.Value already allows anything
        return schema
    return {"anyOf": [schema, {"type": "null"}]}
