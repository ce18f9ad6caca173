"""Business-level telemetry of the services, through the OpenTelemetry API only.

Every public service method runs in an INTERNAL span named after its RPC (`CreateTopic`), with
the caller as `enduser.id`. A failure records the exception as a span event; the span's status
becomes ERROR only for unexpected exceptions (server faults): a `OneHubError` such as NotFound is
the client's mistake, marked with `error.type` alone, as the gRPC and HTTP server spans do
(unless it is a server fault, such as Unavailable). Before the method runs, the fault switchboard
may fail the call (the rpc-errors fault).

Counters `onehub.users`, `onehub.topics` and `onehub.messages` count created entities; services
add to them after their transaction commits. Without an SDK configured, all of this is no-op.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import Counter, MeterProvider
from opentelemetry.semconv.attributes import error_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer, TracerProvider

from onehub.domain.errors import OneHubError
from onehub.domain.models import Principal
from onehub.services.faults import FaultSwitchboard

_SCOPE = "onehub.services"
ENDUSER_ID = "enduser.id"
ERROR_TYPE = error_attributes.ERROR_TYPE


@dataclass(frozen=True, slots=True)
class ServiceInstruments:
    """The tracer and counters the services share. Build once, with `create`."""

    tracer: Tracer
    users_created: Counter
    topics_created: Counter
    messages_created: Counter

    @classmethod
    def create(
        cls,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> ServiceInstruments:
        """Instruments on the given providers, or on the global ones when omitted (proxies that
        start recording once the composition root installs an SDK)."""
        meter = metrics.get_meter(_SCOPE, meter_provider=meter_provider)
        return cls(
            tracer=trace.get_tracer(_SCOPE, tracer_provider=tracer_provider),
            users_created=meter.create_counter(
                "onehub.users", unit="{user}", description="Users created"
            ),
            topics_created=meter.create_counter(
                "onehub.topics", unit="{topic}", description="Topics created"
            ),
            messages_created=meter.create_counter(
                "onehub.messages", unit="{message}", description="Messages created"
            ),
        )


class Instrumented(Protocol):
    @property
    def instruments(self) -> ServiceInstruments: ...

    @property
    def faults(self) -> FaultSwitchboard: ...


S = TypeVar("S", bound=Instrumented)
P = ParamSpec("P")
R = TypeVar("R")

ServiceMethod = Callable[Concatenate[S, Principal, P], Awaitable[R]]
TracedMethod = Callable[Concatenate[S, Principal, P], Coroutine[Any, Any, R]]


def rpc_span(name: str) -> Callable[[ServiceMethod[S, P, R]], TracedMethod[S, P, R]]:
    """Run the decorated service method in an INTERNAL span called `name`."""

    def decorate(method: ServiceMethod[S, P, R]) -> TracedMethod[S, P, R]:
        @functools.wraps(method)
        async def traced(self: S, principal: Principal, /, *args: P.args, **kwargs: P.kwargs) -> R:
            # start_span + attach rather than start_as_current_span: the same span and context
            # without two generator context managers per call (this runs on every request).
            span = self.instruments.tracer.start_span(
                name,
                kind=SpanKind.INTERNAL,
                attributes={ENDUSER_ID: principal.user_id},
                record_exception=False,
                set_status_on_exception=False,
            )
            token = otel_context.attach(trace.set_span_in_context(span))
            try:
                self.faults.check_rpc(name)
                return await method(self, principal, *args, **kwargs)
            except OneHubError as exc:
                span.record_exception(exc)
                span.set_attribute(ERROR_TYPE, type(exc).__name__)
                if exc.server_fault:
                    span.set_status(Status(StatusCode.ERROR, exc.message))
                raise
            except Exception as exc:
                span.record_exception(exc)
                span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR, type(exc).__qualname__))
                raise
            finally:
                otel_context.detach(token)
                span.end()

        return traced

    return decorate
