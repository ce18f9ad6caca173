"""Plain-Python views of OTLP attribute values, shared by the processors and the query side."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

SERVICE_NAME_KEY = "service.name"
# What OpenTelemetry SDKs call a resource that carries no service.name.
UNKNOWN_SERVICE = "unknown_service"


def any_value_to_python(value: AnyValue) -> Any:
    """The plain value of an OTLP AnyValue: str, bool, int, float, base64 str for bytes,
    list or dict for arrays and key-value lists, None when unset."""
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [any_value_to_python(item) for item in value.array_value.values]
    if which == "kvlist_value":
        return attributes_to_dict(value.kvlist_value.values)
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode("ascii")
    if which == "double_value" and not math.isfinite(value.double_value):
        return repr(value.double_value)  # JSON has no NaN or infinity: say it in words
    return getattr(value, which)


def attributes_to_dict(attributes: Iterable[KeyValue]) -> dict[str, Any]:
    """Attributes as a dict; a repeated key keeps its last value, as the SDKs do."""
    return {kv.key: any_value_to_python(kv.value) for kv in attributes}


def typed_value(value: AnyValue) -> tuple[str, Any]:
    """Jaeger's (type, value) for an AnyValue: string, bool, int64, float64 or binary; arrays
    and maps become their JSON text typed string, as Jaeger's OTLP translator does."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return "string", value.string_value
    if which == "bool_value":
        return "bool", value.bool_value
    if which == "int_value":
        return "int64", value.int_value
    if which == "double_value":
        if not math.isfinite(value.double_value):
            return "string", repr(value.double_value)
        return "float64", value.double_value
    if which == "bytes_value":
        return "binary", base64.b64encode(value.bytes_value).decode("ascii")
    if which is None:
        return "string", ""
    return "string", json.dumps(any_value_to_python(value), separators=(",", ":"))


def value_as_text(value: AnyValue) -> str:
    """The text a tag search compares with: `true`/`false` for booleans, decimal numbers,
    the string itself, JSON for arrays and maps."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "bool_value":
        return "true" if value.bool_value else "false"
    if which == "int_value":
        return str(value.int_value)
    if which == "double_value":
        return repr(value.double_value)
    return str(typed_value(value)[1])


def python_to_any_value(raw: Any) -> AnyValue:
    """The AnyValue for a plain value from YAML config (str, bool, int, float, list, dict)."""
    value = AnyValue()
    if isinstance(raw, bool):
        value.bool_value = raw
    elif isinstance(raw, int):
        value.int_value = raw
    elif isinstance(raw, float):
        value.double_value = raw
    elif isinstance(raw, list):
        value.array_value.values.extend(python_to_any_value(item) for item in raw)
    elif isinstance(raw, dict):
        for key, item in raw.items():
            value.kvlist_value.values.add(key=str(key), value=python_to_any_value(item))
    else:
        value.string_value = str(raw)
    return value


def service_name(attributes: Iterable[KeyValue]) -> str:
    """The resource's service.name, or `unknown_service` when it has none."""
    for kv in attributes:
        if kv.key == SERVICE_NAME_KEY and kv.value.string_value:
            return kv.value.string_value
    return UNKNOWN_SERVICE
