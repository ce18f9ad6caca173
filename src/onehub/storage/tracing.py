"""The datastore's method spans: one INTERNAL span per store call, through the OpenTelemetry API.

Exceptions propagate unchanged; the API's defaults record them on the span and set its status.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, ParamSpec, TypeVar

from opentelemetry import trace

_tracer = trace.get_tracer("onehub.storage")

P = ParamSpec("P")
R = TypeVar("R")


def db_span(
    name: str,
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Run the decorated coroutine method inside an INTERNAL span called `name` (`db.GetUser`)."""

    def decorate(
        method: Callable[P, Coroutine[Any, Any, R]],
    ) -> Callable[P, Coroutine[Any, Any, R]]:
        @functools.wraps(method)
        async def traced(*args: P.args, **kwargs: P.kwargs) -> R:
            with _tracer.start_as_current_span(name, kind=trace.SpanKind.INTERNAL):
                return await method(*args, **kwargs)

        return traced

    return decorate
