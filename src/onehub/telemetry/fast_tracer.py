"""A TracerProvider whose tracers skip the sampler for the common child span.

Under the default sampler, parent-based always-on, a child of a sampled local span is always
recorded and sampled and inherits its parent's trace state; asking the sampler (which looks the
parent up twice more and builds a SamplingResult and a MappingProxyType) and the tracer's no-op
self-metrics changes nothing for it. Five of the six spans of a traced gateway request are such
children. For them the tracer builds the SDK's own span directly: same context, flags, trace
state, attributes, processors. Every other case (roots, remote or unsampled parents, links,
another sampler, the SDK's self-metrics switched on) goes through the SDK's `start_span`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry import context as context_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.trace import Tracer, TracerProvider, _Span
from opentelemetry.sdk.trace._tracer_metrics import NoOpTracerMetrics
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased, Sampler
from opentelemetry.trace import SpanKind, TraceFlags
from opentelemetry.util import types

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_SAMPLED_RANDOM = TraceFlags(TraceFlags.SAMPLED | TraceFlags.RANDOM_TRACE_ID)


def samples_every_local_child(sampler: Sampler) -> bool:
    """True when `sampler` records and samples every child of a sampled local parent."""
    return isinstance(sampler, ParentBased) and sampler._local_parent_sampled is ALWAYS_ON


class FastChildTracerProvider(TracerProvider):
    """The SDK's TracerProvider; its tracers take the short path described above."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace_api.Tracer:
        tracer = super().get_tracer(*args, **kwargs)
        if type(tracer) is Tracer:
            # Same object and state (the provider keeps it, updates its resource and config);
            # only start_span differs.
            tracer.__class__ = _FastChildTracer
        return tracer


class _FastChildTracer(Tracer):
    def start_span(
        self,
        name: str,
        context: context_api.Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: types.Attributes = None,
        links: Sequence[trace_api.Link] | None = (),
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace_api.Span:
        parent = trace_api.get_current_span(context).get_span_context()
        if (
            links
            or not isinstance(parent, trace_api.SpanContext)
            or not parent.is_valid
            or parent.is_remote
            or not parent.trace_flags.sampled
            or not self._is_enabled()
            or not samples_every_local_child(self.sampler)
            or not isinstance(self._tracer_metrics, NoOpTracerMetrics)
        ):
            return super().start_span(
                name,
                context,
                kind,
                attributes,
                links,
                start_time,
                record_exception,
                set_status_on_exception,
            )
        span_context = trace_api.SpanContext(
            parent.trace_id,
            self.id_generator.generate_span_id(),
            is_remote=False,
            trace_flags=_SAMPLED_RANDOM if parent.trace_flags.random_trace_id else _SAMPLED,
            trace_state=parent.trace_state,
        )
        span = _Span(
            name=name,
            context=span_context,
            parent=parent,
            sampler=self.sampler,
            resource=self.resource,
            attributes=attributes,
            span_processor=self.span_processor,
            kind=kind,
            links=(),
            instrumentation_info=self.instrumentation_info,
            record_exception=record_exception,
            set_status_on_exception=set_status_on_exception,
            limits=self._span_limits,
            instrumentation_scope=self._instrumentation_scope,
        )
        span.start(start_time=start_time, parent_context=context)
        return span
