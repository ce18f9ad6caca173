"""OTLP span encoding straight to protobuf wire bytes, for the export thread.

The SDK's encoder builds a protobuf message object per span, attribute and value, each through
the protobuf runtime's Python API; on a traced request that was the largest single cost of the
export thread, which holds the GIL while it encodes and so takes time from the event loop. This
writes the same `ExportTraceServiceRequest` as bytes: the resource and instrumentation scopes are
encoded once, and an attribute (key and value) the process has seen before is a dict look-up.

The bytes decode to exactly the message `opentelemetry.exporter.otlp.proto.common`'s
`encode_spans` builds (tests/telemetry/test_span_encoding.py compares them). Values other than
the scalar types (sequences, mappings) fall back to the SDK's own encoding of that attribute.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status

from onehub.telemetry.compat.otel_sdk import plain_attributes, span_fields
from onehub.telemetry.compat.otlp_exporter import (
    encoded_key_value,
    encoded_resource,
    encoded_scope,
)

_PACK_FIXED64: Final = struct.Struct("<Q").pack
_PACK_FIXED32: Final = struct.Struct("<I").pack
_PACK_DOUBLE: Final = struct.Struct("<d").pack
# The kind field (tag 6), whole.
_KINDS: Final = {
    SpanKind.INTERNAL: b"\x30\x01",
    SpanKind.SERVER: b"\x30\x02",
    SpanKind.CLIENT: b"\x30\x03",
    SpanKind.PRODUCER: b"\x30\x04",
    SpanKind.CONSUMER: b"\x30\x05",
}
# SpanFlags: the context-has-is-remote bit always, the is-remote bit for a remote parent.
_FLAGS_LOCAL: Final = b"\x85\x01" + _PACK_FIXED32(0x100)
_FLAGS_REMOTE: Final = b"\x85\x01" + _PACK_FIXED32(0x300)
# Beyond this many distinct attributes (a high-cardinality one such as url.path), start over:
# the cache stays bounded and still serves the repeated ones.
_MAX_CACHED_ATTRIBUTES: Final = 4096
_MAX_CACHED_RESOURCES: Final = 256  # resources and scopes: a process has a handful
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1


def _varint(value: int) -> bytes:
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _len_field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field: tag, length, payload."""
    return tag + _varint(len(payload)) + payload


def _string_field(tag: bytes, text: str) -> bytes:
    return _len_field(tag, text.encode())


class SpanEncoder:
    """Encodes batches of finished spans as `ExportTraceServiceRequest` bytes.

    Safe to share between threads: each cache is touched by single dict operations only, and
    a lost race at worst encodes a piece twice.
    """

    def __init__(self) -> None:
        self._attributes: dict[tuple[bytes, str, type, Any], bytes] = {}
        # By identity, holding the object so that its id cannot be reused while cached.
        self._resources: dict[int, tuple[Resource, bytes]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope | None, bytes]] = {}
        self._names: dict[str, bytes] = {}

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The request carrying `spans`, grouped by resource then instrumentation scope."""
        # Grouped by identity: a process has one resource and a few scopes, and Resource's own
        # hash serialises every attribute to JSON.
        groups: dict[tuple[int, int], tuple[Resource, InstrumentationScope | None, list[bytes]]]
        groups = {}
        encode_span = self._span
        for span in spans:
            resource, scope = span.resource, span.instrumentation_scope or None
            group = groups.get((id(resource), id(scope)))
            if group is None:
                group = groups[id(resource), id(scope)] = (resource, scope, [])
            group[2].append(encode_span(span))
        by_resource: dict[int, tuple[Resource, list[bytes]]] = {}
        for resource, scope, encoded_spans in groups.values():
            scope_spans = [self._scope(scope)]
            scope_spans.extend(_len_field(b"\x12", encoded) for encoded in encoded_spans)
            if scope is not None and scope.schema_url:
                scope_spans.append(_string_field(b"\x1a", scope.schema_url))
            entry = by_resource.get(id(resource))
            if entry is None:
                entry = by_resource[id(resource)] = (resource, [self._resource(resource)])
            entry[1].append(_len_field(b"\x12", b"".join(scope_spans)))
        request = []
        for resource, parts in by_resource.values():
            if resource.schema_url:
                parts.append(_string_field(b"\x1a", resource.schema_url))
            request.append(_len_field(b"\x0a", b"".join(parts)))
        return b"".join(request)

    # --- cached pieces
    def _resource(self, resource: Resource) -> bytes:
        cached = self._resources.get(id(resource))
        if cached is None:
            body = encoded_resource(resource)
            if len(self._resources) >= _MAX_CACHED_RESOURCES:
                self._resources.clear()
            cached = self._resources[id(resource)] = (resource, _len_field(b"\x0a", body))
        return cached[1]

    def _scope(self, scope: InstrumentationScope | None) -> bytes:
        cached = self._scopes.get(id(scope))
        if cached is None:
            # The SDK encodes a missing scope as an empty one, which is still sent.
            body = encoded_scope(scope)
            if len(self._scopes) >= _MAX_CACHED_RESOURCES:
                self._scopes.clear()
            cached = self._scopes[id(scope)] = (scope, _len_field(b"\x0a", body))
        return cached[1]

    def _name(self, name: str) -> bytes:
        encoded = self._names.get(name)
        if encoded is None:
            encoded = _string_field(b"\x2a", name)
            if len(self._names) < _MAX_CACHED_ATTRIBUTES:
                self._names[name] = encoded
        return encoded

    def _attribute_list(self, tag: bytes, attributes: Mapping[str, Any] | None) -> bytes:
        """`attributes` as `plain_attributes` gives them (iterating the SDK's BoundedAttributes
        as a Mapping costs more)."""
        if not attributes:
            return b""
        cache = self._attributes
        parts = []
        for key, value in attributes.items():
            cache_key: tuple[bytes, str, type, Any] | None = (tag, key, type(value), value)
            try:
                encoded = cache.get(cache_key)  # type: ignore[arg-type]  # not None here
            except TypeError:  # an unhashable value (a list): encode it every time
                encoded, cache_key = None, None
            if encoded is None:
                key_value = _key_value(key, value)
                if key_value is None:
                    continue
                encoded = _len_field(tag, key_value)
                if cache_key is not None:
                    if len(cache) >= _MAX_CACHED_ATTRIBUTES:
                        cache.clear()
                    cache[cache_key] = encoded
            parts.append(encoded)
        return b"".join(parts)

    # --- one span
    def _span(self, span: ReadableSpan) -> bytes:
        # The SDK's fields rather than its properties, which copy: attributes into a
        # MappingProxyType over a Mapping mixin, events and links into fresh tuples (under a lock).
        (context, parent, name, kind, start, end, attributes, events, links, status) = span_fields(
            span
        )
        assert context is not None  # a finished SDK span always has its context
        parts = [
            b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        ]
        trace_state = context.trace_state
        if trace_state:
            parts.append(
                _string_field(b"\x1a", ",".join(f"{k}={v}" for k, v in trace_state.items()))
            )
        if parent is not None:
            parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
        parts.append(self._name(name))
        parts.append(_KINDS[kind])
        parts.append(b"\x39" + _PACK_FIXED64(start or 0))
        parts.append(b"\x41" + _PACK_FIXED64(end or 0))
        if attributes:
            parts.append(self._attribute_list(b"\x4a", attributes))
            if span.dropped_attributes:
                parts.append(b"\x50" + _varint(span.dropped_attributes))
        if events:
            for event in span.events:
                parts.append(_len_field(b"\x5a", self._event(event)))
            if span.dropped_events:
                parts.append(b"\x60" + _varint(span.dropped_events))
        if links:
            for link in span.links:
                parts.append(_len_field(b"\x6a", self._link(link)))
            if span.dropped_links:
                parts.append(b"\x70" + _varint(span.dropped_links))
        parts.append(_status(status))
        parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
        return b"".join(parts)

    def _event(self, event: Event) -> bytes:
        parts = [b"\x09" + _PACK_FIXED64(event.timestamp)]
        if event.name:
            parts.append(_string_field(b"\x12", event.name))
        if event.attributes:
            parts.append(self._attribute_list(b"\x1a", plain_attributes(event.attributes)))
        if event.dropped_attributes:
            parts.append(b"\x20" + _varint(event.dropped_attributes))
        return b"".join(parts)

    def _link(self, link: Link) -> bytes:
        context: SpanContext = link.context
        parts = [
            b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
            b"\x12\x08" + context.span_id.to_bytes(8, "big"),
        ]
        if link.attributes:
            parts.append(self._attribute_list(b"\x22", plain_attributes(link.attributes)))
        if link.dropped_attributes:
            parts.append(b"\x28" + _varint(link.dropped_attributes))
        parts.append(b"\x35" + _PACK_FIXED32(0x300 if context.is_remote else 0x100))
        return b"".join(parts)


_UNSET_STATUS: Final = b"\x7a\x00"


def _status(status: Status) -> bytes:
    """The status field (tag 15), whole; always sent, as the SDK's encoder does."""
    if not status.description and not status.status_code.value:
        return _UNSET_STATUS
    parts = []
    if status.description:
        parts.append(_string_field(b"\x12", status.description))
    if status.status_code.value:
        parts.append(b"\x18" + _varint(status.status_code.value))
    return _len_field(b"\x7a", b"".join(parts))


def _any_value(value: object) -> bytes | None:
    """AnyValue for the scalar types (a oneof: written even when it holds the default)."""
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _string_field(b"\x0a", value)
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            return None  # the SDK's encoder refuses it (and logs); so do we, through it
        return b"\x18" + _varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, float):
        return b"\x21" + _PACK_DOUBLE(value)
    if isinstance(value, bytes):
        return _len_field(b"\x3a", value)
    return None


def _key_value(key: str, value: object) -> bytes | None:
    """KeyValue bytes; None when the SDK's encoder would drop the attribute too."""
    any_value = _any_value(value)
    if any_value is None:
        try:
            return encoded_key_value(key, value)
        except Exception:  # the SDK logs and skips an attribute it cannot encode
            return None
    return _string_field(b"\x0a", key) + _len_field(b"\x12", any_value)
