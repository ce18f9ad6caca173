"""Tag filters of a trace search, compiled to SQL plus an exact check in Python.

A tag matches a span's own attributes, its scope's or its resource's. Jaeger's synthetic tags
are columns: `error=true` is error status, `span.kind` the kind, `otel.status_code` the status.
Span attributes live in the span's protobuf bytes, where an attribute is one run of bytes
that can be computed from the tag (key and value encoded as a KeyValue), so SQLite's `instr`
discards non-matching rows at C speed; the few rows left are decoded and checked exactly.

Before `instr` even reads a row, a signature in the search index (`tag_bloom`, a 63-bit Bloom
filter of the span's encoded attributes, two bits each; ~7% false positives with nine
attributes) rules out most spans without touching the table: measured on 1.2M stored spans,
an index-only step costs ~0.04 µs and a step that reads the row ~1.1 µs; through the query
API, tag search p95 went from 61-85 ms to 27-32 ms and a value no span has from ~550-620 ms to
~90 ms. The writer computes it from the encoded span (`attribute_signature`, ~1.9 µs a span);
a tag whose encoding it cannot see whole (see `signature_masks`) falls back to `instr` alone.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from onehub_collector.otlp_values import value_as_text

SPAN_KINDS = {
    "unspecified": 0,
    "internal": 1,
    "server": 2,
    "client": 3,
    "producer": 4,
    "consumer": 5,
}
STATUS_CODES = {"UNSET": 0, "OK": 1, "ERROR": 2}


@dataclass(frozen=True)
class _AttributeTag:
    key: str
    value: str
    resource_ids: frozenset[int]
    scope_ids: frozenset[int]


@dataclass
class SpanFilter:
    sql: list[str] = field(default_factory=list)
    params: list[object] = field(default_factory=list)
    attribute_tags: list[_AttributeTag] = field(default_factory=list)

    @property
    def needs_body(self) -> bool:
        return bool(self.attribute_tags)

    def matches(self, resource_id: int, scope_id: int, body: bytes) -> bool:
        """Exact check of the attribute tags for a row the SQL prefilter let through."""
        texts: dict[str, str] | None = None
        for tag in self.attribute_tags:
            if resource_id in tag.resource_ids or scope_id in tag.scope_ids:
                continue
            if texts is None:
                span = Span.FromString(body)
                texts = {kv.key: value_as_text(kv.value) for kv in span.attributes}
            if texts.get(tag.key) != tag.value:
                return False
        return True


def compile_tags(
    tags: Mapping[str, str],
    resource_texts: Mapping[int, Mapping[str, str]],
    scope_texts: Mapping[int, Mapping[str, str]],
) -> SpanFilter:
    """Compile `tags` against the known resources and scopes (id → attribute texts)."""
    compiled = SpanFilter()
    for key, value in tags.items():
        if key == "error" and value in ("true", "false"):
            compiled.sql.append("status = 2" if value == "true" else "status != 2")
        elif key == "span.kind":
            compiled.sql.append("kind = ?")
            compiled.params.append(SPAN_KINDS.get(value.lower(), -1))
        elif key == "otel.status_code":
            compiled.sql.append("status = ?")
            compiled.params.append(STATUS_CODES.get(value.upper(), -1))
        else:
            _compile_attribute(compiled, key, value, resource_texts, scope_texts)
    return compiled


def _compile_attribute(
    compiled: SpanFilter,
    key: str,
    value: str,
    resource_texts: Mapping[int, Mapping[str, str]],
    scope_texts: Mapping[int, Mapping[str, str]],
) -> None:
    resource_ids = frozenset(i for i, texts in resource_texts.items() if texts.get(key) == value)
    scope_ids = frozenset(i for i, texts in scope_texts.items() if texts.get(key) == value)
    encodings = encoded_key_values(key, value)
    in_body = " OR ".join(["instr(body, ?) > 0"] * len(encodings))
    body_params: list[object] = list(encodings)
    masks = signature_masks(encodings)
    if masks is not None:
        # First, and on index columns only: SQLite reads the row only for spans that pass.
        in_signature = " OR ".join(f"(tag_bloom & {mask}) = {mask}" for mask in masks)
        in_body = f"({in_signature}) AND ({in_body})"
    alternatives = [f"({in_body})"]
    if resource_ids:
        alternatives.append(f"resource_id IN ({','.join(map(str, sorted(resource_ids)))})")
    if scope_ids:
        alternatives.append(f"scope_id IN ({','.join(map(str, sorted(scope_ids)))})")
    compiled.sql.append("(" + " OR ".join(alternatives) + ")")
    compiled.params.extend(body_params)
    compiled.attribute_tags.append(_AttributeTag(key, value, resource_ids, scope_ids))


def _varint(number: int) -> bytes:
    number &= (1 << 64) - 1  # negative int64 values are ten-byte two's complement varints
    out = bytearray()
    while True:
        low = number & 0x7F
        number >>= 7
        if number:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _delimited(tag: int, payload: bytes) -> bytes:
    return bytes([tag]) + _varint(len(payload)) + payload


def encoded_key_values(key: str, value: str) -> list[bytes]:
    """The protobuf encodings of an attribute `key` whose value reads as `value`: as a string,
    and also as a bool, int64 or double when the text is one. Every OTLP encoder writes a
    KeyValue's fields in field order, so a span with that attribute contains one of these."""
    any_values = [_delimited(0x0A, value.encode())]  # AnyValue.string_value
    if value in ("true", "false"):
        any_values.append(b"\x10" + (b"\x01" if value == "true" else b"\x00"))
    try:
        any_values.append(b"\x18" + _varint(int(value)))
    except ValueError:
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            if math.isfinite(number):
                any_values.append(b"\x21" + struct.pack("<d", number))
    prefix = _delimited(0x0A, key.encode())
    return [prefix + _delimited(0x12, any_value) for any_value in any_values]


# -- the attribute signature -----------------------------------------------------------------

_ATTRIBUTE_TAG = b"\x4a"  # Span.attributes: field 9, length-delimited
# Two of 63 bits per entry (never bit 63: the signature stays a positive SQLite integer); the
# table turns the low 12 bits of a CRC-32 into those two bits without Python arithmetic.
_BIT_PAIRS = [(1 << ((i & 63) % 63)) | (1 << ((i >> 6) % 63)) for i in range(4096)]
# Rows written before the signature existed carry every bit: they always pass the check.
ALL_BITS = -1


def attribute_signature(body: bytes) -> int:
    """A Bloom filter of the attributes of the encoded span `body`.

    Splitting at every 0x4A byte starts one piece right after each attribute's field tag; its
    first byte is the attribute's length, which trims the piece to exactly the KeyValue (the
    last attribute is followed by other fields). Pieces that are not attributes (0x4A inside
    ids, times or text) only add bits: more false positives, never a missed span.
    """
    signature = 0
    crc32 = zlib.crc32
    # The first piece precedes every 0x4A byte: never an attribute.
    for piece in body.split(_ATTRIBUTE_TAG)[1:]:
        if piece and piece[0] < 0x80:
            signature |= _BIT_PAIRS[crc32(piece[: piece[0] + 1]) & 4095]
    return signature


def signature_masks(encodings: list[bytes]) -> list[int] | None:
    """The signature bits a span must have to hold one of `encodings` (KeyValues from
    `encoded_key_values`), one mask per encoding; None when the signature cannot tell: an
    encoding of 128 bytes or more (a two-byte length) or one that contains a 0x4A byte is
    not seen whole by `attribute_signature`."""
    masks = []
    for encoding in encodings:
        piece = _varint(len(encoding)) + encoding
        if len(encoding) >= 0x80 or _ATTRIBUTE_TAG in piece:
            return None
        masks.append(_BIT_PAIRS[zlib.crc32(piece) & 4095])
    return masks
