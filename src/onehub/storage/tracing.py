"""The datastore's method spans: one INTERNAL span per store call, through the OpenTelemetry API.

Each store holds the tracer its factory was given (`storage_tracer`), the global one by default.
Exceptions propagate unchanged, recorded on the span with its status set to ERROR (what
`start_as_current_span` does by default).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import trace

SCOPE = "onehub.storage"

P = ParamSpec("P")
R = TypeVar("R")


class _Traced(Protocol):
    _tracer: trace.Tracer


S = TypeVar("S", bound=_Traced)

StoreMethod = Callable[Concatenate[S, P], Coroutine[Any, Any, R]]


def storage_tracer(tracer_provider: trace.TracerProvider | None = None) -> trace.Tracer:
    """The tracer of the store spans: from `tracer_provider`, or the global provider if None."""
    return trace.get_tracer(SCOPE, tracer_provider=tracer_provider)


def db_span(name: str) -> Callable[[StoreMethod[S, P, R]], StoreMethod[S, P, R]]:
    """Run the decorated store method inside an INTERNAL span called `name` (`db.GetUser`)."""

    def decorate(method: StoreMethod[S, P, R]) -> StoreMethod[S, P, R]:
        @functools.wraps(method)
        async def traced(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
            # What start_as_current_span does with its defaults, without its two generator
            # context managers per call: an exception is recorded and sets the status.
            span = self._tracer.start_span(name, kind=trace.SpanKind.INTERNAL)
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                return await method(self, *args, **kwargs)
            except Exception as exc:
                if span.is_recording():
                    span.record_exception(exc)
                    span.set_status(
                        trace.Status(trace.StatusCode.ERROR, f"{type(exc).__name__}: {exc}")
                    )
                raise
            finally:
                otel_context.detach(token)
                span.end()

        return traced

    return decorate
