"""The private parts of opentelemetry-api and opentelemetry-sdk that OneHub relies on.

Checked against opentelemetry-api and opentelemetry-sdk 1.45.1 (`CHECKED_AGAINST`), the only
versions pyproject.toml allows; tests/compat/test_otel_sdk.py fails, naming the installed version,
when any of these changes shape.

Touched here, and nowhere else:
- `opentelemetry.sdk.trace.ReadableSpan`'s fields `_context`, `_parent`, `_name`, `_kind`,
  `_start_time`, `_end_time`, `_attributes`, `_events`, `_links` and `_status` (read by
  `span_fields`, one call per span). The public properties copy: attributes into a
  MappingProxyType, events and links into fresh tuples under the span's lock; the span encoder
  reads every finished span.
- `opentelemetry.attributes.BoundedAttributes._dict`, the plain dict behind the attributes of a
  span, event or link (`span_fields`, `plain_attributes`): iterating it costs less than
  iterating the Mapping.
- `opentelemetry.metrics._Gauge` (`Gauge`), the synchronous gauge the API exports under a
  private name while the specification calls it in development; `Meter.create_gauge` returns one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry import metrics
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, SpanContext, SpanKind, Status

CHECKED_AGAINST: Final = {"opentelemetry-api": "1.45.1", "opentelemetry-sdk": "1.45.1"}

Gauge = metrics._Gauge

SpanFields = tuple[
    SpanContext | None,  # context
    SpanContext | None,  # parent
    str,  # name
    SpanKind,  # kind
    int | None,  # start time (ns)
    int | None,  # end time (ns)
    Mapping[str, Any] | None,  # attributes
    Sequence[Event],  # events
    Sequence[Link],  # links
    Status,  # status
]


def span_fields(span: ReadableSpan) -> SpanFields:
    """A finished span's fields as they are stored, without the copies its properties make;
    its attributes as `plain_attributes` gives them."""
    attributes = span._attributes
    return (
        span._context,
        span._parent,
        span._name,
        span._kind,
        span._start_time,
        span._end_time,
        getattr(attributes, "_dict", attributes),
        span._events,
        span._links,
        span._status,
    )


def plain_attributes(attributes: Mapping[str, Any]) -> Mapping[str, Any]:
    """The plain dict behind `attributes` when it is the SDK's BoundedAttributes, else itself."""
    plain: Mapping[str, Any] = getattr(attributes, "_dict", attributes)
    return plain
