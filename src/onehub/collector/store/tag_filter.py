"""Tag filters of a trace search, compiled to SQL plus an exact check in Python.

A tag matches a span's own attributes, its scope's or its resource's. Jaeger's synthetic tags
are columns: `error=true` is error status, `span.kind` the kind, `otel.status_code` the status.
Span attributes live in the span's protobuf bytes, where every key and every string value
appears verbatim, so SQLite's `instr` discards most non-matching rows at C speed; the rows
left are decoded and checked exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from onehub.collector.otlp_values import value_as_text

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
    # Only a string value is stored as its own bytes; numbers and booleans are encoded.
    in_body = "instr(body, ?) > 0"
    body_params: list[object] = [key.encode()]
    if not _looks_encoded(value):
        in_body += " AND instr(body, ?) > 0"
        body_params.append(value.encode())
    alternatives = [f"({in_body})"]
    if resource_ids:
        alternatives.append(f"resource_id IN ({','.join(map(str, sorted(resource_ids)))})")
    if scope_ids:
        alternatives.append(f"scope_id IN ({','.join(map(str, sorted(scope_ids)))})")
    compiled.sql.append("(" + " OR ".join(alternatives) + ")")
    compiled.params.extend(body_params)
    compiled.attribute_tags.append(_AttributeTag(key, value, resource_ids, scope_ids))


def _looks_encoded(value: str) -> bool:
    if value in ("true", "false"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True
