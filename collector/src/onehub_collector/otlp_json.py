"""OTLP/JSON ↔ protobuf, per the OTLP specification's JSON mapping.

It is proto3 JSON with three differences this module handles: trace and span ids are hex (not
base64), enums are numbers (both accepted on input), and unknown fields are ignored. int64
values are decimal strings (numbers accepted on input).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from typing import Any, TypeVar

from google.protobuf import json_format
from google.protobuf.message import Message

# Deeper than this is refused. The protobuf decoder refuses messages nested more than 100 deep,
# and every message is at least one JSON level, so this keeps JSON to what protobuf accepts.
MAX_DEPTH = 100
_ID_FIELDS = frozenset(
    {"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"}
)
# Where ids occur: spans, span links and log records, at any depth of the request.
_M = TypeVar("_M", bound=Message)


class OtlpJsonError(ValueError):
    """The body is not an OTLP/JSON message of the expected type."""


def parse_otlp_json(body: bytes, message_type: type[_M]) -> _M:
    """Decode an OTLP/JSON body; OtlpJsonError with the reason when it is not valid."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OtlpJsonError(f"not JSON ({exc})") from None
    except RecursionError:
        raise OtlpJsonError(f"nested more than {MAX_DEPTH} levels deep") from None
    if not isinstance(document, dict):
        raise OtlpJsonError("expected a JSON object")
    _hex_ids_to_base64(document, 1)
    message = message_type()
    try:
        json_format.ParseDict(document, message, ignore_unknown_fields=True)
    except (json_format.ParseError, TypeError, ValueError) as exc:
        raise OtlpJsonError(str(exc).splitlines()[0]) from None
    return message


def to_otlp_json(message: Message) -> dict[str, Any]:
    """The OTLP/JSON object for a message: camelCase keys, hex ids, enums as numbers,
    int64 as strings, defaults omitted."""
    document = json_format.MessageToDict(message, use_integers_for_enums=True)
    _base64_ids_to_hex(document)
    return document


def _hex_ids_to_base64(node: Any, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise OtlpJsonError(f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raise OtlpJsonError(f"{key} {value!r} is not hex") from None
                node[key] = base64.b64encode(raw).decode("ascii")
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, depth + 1)
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict | list):
                _hex_ids_to_base64(item, depth + 1)


def _base64_ids_to_hex(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                # MessageToDict always writes base64 here; anything else stays as it is.
                with contextlib.suppress(binascii.Error):
                    node[key] = base64.b64decode(value).hex()
            elif isinstance(value, dict | list):
                _base64_ids_to_hex(value)
    elif isinstance(node, list):
        for item in node:
            _base64_ids_to_hex(item)
