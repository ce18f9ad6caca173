"""The fast child-span path makes the spans the SDK's own tracer would make."""

from __future__ import annotations

import pytest
from opentelemetry import context, trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import Link, SpanContext, SpanKind, TraceFlags, TraceState

from onehub.telemetry.fast_tracer import FastChildTracerProvider

STATE = TraceState([("vendor", "on")])
PARENTS = {
    "local sampled": SpanContext(7, 8, False, TraceFlags(0x03), STATE),
    "local sampled, not random": SpanContext(7, 8, False, TraceFlags(0x01), STATE),
    "local unsampled": SpanContext(7, 8, False, TraceFlags(0x00)),
    "remote sampled": SpanContext(7, 8, True, TraceFlags(0x01), STATE),
    "remote unsampled": SpanContext(7, 8, True, TraceFlags(0x00)),
}


def child_of(
    provider_class: type[TracerProvider],
    sampler: Sampler,
    parent: SpanContext | None,
    links: tuple[Link, ...] = (),
) -> tuple[trace.Span, list[ReadableSpan]]:
    exporter = InMemorySpanExporter()
    provider = provider_class(sampler=sampler, shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("onehub.test", "1.0")
    parent_context = (
        trace.set_span_in_context(trace.NonRecordingSpan(parent)) if parent else context.Context()
    )
    token = context.attach(parent_context)
    try:
        span = tracer.start_span(
            "GetTopic", kind=SpanKind.CLIENT, attributes={"enduser.id": "u1", "n": 1}, links=links
        )
        span.set_attribute("late", True)
        span.end()
    finally:
        context.detach(token)
    return span, list(exporter.get_finished_spans())


def comparable(span: trace.Span, finished: list[ReadableSpan]) -> object:
    span_context = span.get_span_context()
    return (
        type(span).__name__,
        span_context.trace_id == 7,  # the parent's trace (roots get a random one)
        span_context.is_valid and span_context.trace_flags,
        span_context.is_valid and span_context.trace_state,
        [
            (
                s.name,
                s.kind,
                s.parent,
                dict(s.attributes or {}),
                s.instrumentation_scope,
                s.resource.attributes,
                [link.context for link in s.links],
            )
            for s in finished
        ],
    )


@pytest.mark.parametrize("parent", [*PARENTS, "none"])
@pytest.mark.parametrize("sampler", ["parentbased_always_on", "parentbased_always_off"])
def test_a_child_span_is_the_one_the_sdk_makes(parent: str, sampler: str) -> None:
    chosen = ParentBased(ALWAYS_ON if sampler.endswith("_on") else ALWAYS_OFF)
    parent_context = PARENTS.get(parent)

    ours = child_of(FastChildTracerProvider, chosen, parent_context)
    sdk = child_of(TracerProvider, chosen, parent_context)

    assert comparable(*ours) == comparable(*sdk)


def test_links_and_other_samplers_take_the_sdk_path() -> None:
    link = (Link(SpanContext(9, 10, True, TraceFlags(0x01))),)
    parent = PARENTS["local sampled"]
    never_children = ParentBased(ALWAYS_ON, local_parent_sampled=ALWAYS_OFF)

    assert comparable(*child_of(FastChildTracerProvider, ALWAYS_ON, parent, link)) == comparable(
        *child_of(TracerProvider, ALWAYS_ON, parent, link)
    )
    span, finished = child_of(FastChildTracerProvider, never_children, parent)
    assert not span.is_recording()
    assert finished == []
