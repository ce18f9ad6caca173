"""The datastore's method spans: one INTERNAL span per store call, through the OpenTelemetry API.

Each store holds the tracer its factory was given (`storage_tracer`), the global one by default.
Exceptions propagate unchanged; the API's defaults record them on the span and set its status.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

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
            with self._tracer.start_as_current_span(name, kind=trace.SpanKind.INTERNAL):
                return await method(self, *args, **kwargs)

        return traced

    return decorate
