"""Span ids as the OTLP data model requires them: a trace id is 16 bytes and a span id 8, neither
all zero; a parent span id is empty or 8 bytes, where 8 zero bytes mean "no parent" too.

Spans that break a rule are taken out of the request before the pipeline sees it and reported
back to the sender as a partial success (`rejected_spans` and a message), as the OTLP
specification asks; the valid spans of the same request are accepted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

_ZERO_TRACE_ID = bytes(16)
_ZERO_SPAN_ID = bytes(8)
_REASONS = {
    "trace": "trace id not 16 bytes or all zero",
    "span": "span id not 8 bytes or all zero",
    "parent": "parent span id neither empty nor 8 bytes",
}


@dataclass(frozen=True)
class Rejected:
    """What was taken out of a request: how many items, and why (one line for the sender)."""

    count: int = 0
    message: str = ""


def _problem(span: Span) -> str | None:
    trace_id = span.trace_id
    if len(trace_id) != 16 or trace_id == _ZERO_TRACE_ID:
        return "trace"
    span_id = span.span_id
    if len(span_id) != 8 or span_id == _ZERO_SPAN_ID:
        return "span"
    parent = span.parent_span_id
    if parent and len(parent) != 8:
        return "parent"
    return None


def reject_invalid_spans(request: ExportTraceServiceRequest) -> Rejected:
    """Remove the spans with invalid ids from `request` (in place) and say what was removed;
    an all-zero parent span id becomes empty (a root span)."""
    reasons: Counter[str] = Counter()
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            spans = scope_spans.spans
            bad: list[int] = []
            for index, span in enumerate(spans):
                problem = _problem(span)
                if problem is not None:
                    reasons[problem] += 1
                    bad.append(index)
                elif span.parent_span_id == _ZERO_SPAN_ID:
                    span.parent_span_id = b""
            for index in reversed(bad):
                del spans[index]
    if not reasons:
        return Rejected()
    count = sum(reasons.values())
    details = ", ".join(f"{n} with {_REASONS[reason]}" for reason, n in sorted(reasons.items()))
    return Rejected(count, f"{count} spans rejected: {details}")
