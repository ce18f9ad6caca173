"""Global tracer and meter providers that can be re-pointed at a new SDK.

The OpenTelemetry API lets a process set its global providers once, and API proxies cache the
first real tracer they see; so a second `setup_telemetry` in the same process (every test that
starts a server) would silently record nowhere. Instead we install these switchable providers
once, and each `Telemetry` re-points them at its own SDK providers (and back to no-op when it shuts
down). Tracers and instruments handed out earlier follow the switch, so modules may keep
`trace.get_tracer(__name__)` at import.

The hot path is one extra attribute read and call per span or measurement; switching takes a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackT
from opentelemetry.trace import Link, Span, SpanKind
from opentelemetry.util.types import Attributes

from onehub.telemetry.compat.otel_sdk import Gauge

# Re-entrant: installing calls the API, whose proxies call back into get_meter/get_tracer.
_lock = threading.RLock()


_Key = tuple[str, str | None, str | None]  # (name, version, schema URL)
_P = TypeVar("_P")
_P_contra = TypeVar("_P_contra", contravariant=True)
_H = TypeVar("_H", bound="_Bindable[Any]")


class _Bindable(Protocol[_P_contra]):
    def bind(self, provider: _P_contra) -> None: ...


class _Switching(Generic[_P, _H]):
    """A provider's switch: the provider switched in last, and every tracer or meter handed out
    (one per key), each re-bound to the new provider on a switch."""

    def __init__(self, initial: _P, make: Callable[[_Key, Attributes], _H]) -> None:
        self._target = initial
        self._make = make
        self._handles: dict[_Key, _H] = {}

    @property
    def target(self) -> _P:
        return self._target

    def switch_to(self, target: _P) -> None:
        with _lock:
            self._target = target
            for handle in self._handles.values():
                handle.bind(target)

    def _handle(self, key: _Key, attributes: Attributes) -> _H:
        with _lock:
            handle = self._handles.get(key)
            if handle is None:
                handle = self._make(key, attributes)
                handle.bind(self._target)
                self._handles[key] = handle
            return handle


class _SwitchingTracer(trace.Tracer):
    def __init__(self, key: _Key, attributes: Attributes) -> None:
        self._key = key
        self._attributes = attributes
        self._real: trace.Tracer = trace.NoOpTracer()

    def bind(self, provider: trace.TracerProvider) -> None:
        name, version, schema_url = self._key
        self._real = provider.get_tracer(name, version, schema_url, self._attributes)

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self._real.start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    # The base class wraps this in a context-manager decorator; the real tracer's method already
    # returns one, so we hand it back untouched instead of wrapping it twice.
    # The base declares a decorated generator; ours returns the same context manager directly.
    def start_as_current_span(  # type: ignore[override]
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        # What the base's decorator would produce: a context manager yielding the span.
        return self._real.start_as_current_span(  # type: ignore[return-value]
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        )


class SwitchingTracerProvider(
    _Switching[trace.TracerProvider, _SwitchingTracer], trace.TracerProvider
):
    """A TracerProvider whose tracers delegate to whichever provider was switched in last."""

    def __init__(self) -> None:
        super().__init__(trace.NoOpTracerProvider(), _SwitchingTracer)

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        key = (instrumenting_module_name, instrumenting_library_version, schema_url)
        return self._handle(key, attributes)


_I = TypeVar("_I")
_R = TypeVar("_R")


class _Rebindable(Generic[_I]):
    """Holds the real instrument and the recipe to make it again on another meter."""

    def __init__(self, make: Callable[[metrics.Meter], _I], meter: metrics.Meter) -> None:
        self._make = make
        self._real: _I = make(meter)

    def bind(self, meter: metrics.Meter) -> None:
        self._real = self._make(meter)


class _Counter(_Rebindable[metrics.Counter], metrics.Counter):
    def add(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.add(amount, attributes, context)


class _UpDownCounter(_Rebindable[metrics.UpDownCounter], metrics.UpDownCounter):
    def add(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.add(amount, attributes, context)


class _Histogram(_Rebindable[metrics.Histogram], metrics.Histogram):
    def record(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.record(amount, attributes, context)


class _Gauge(_Rebindable[Gauge], Gauge):
    def set(
        self, amount: int | float, attributes: Attributes = None, context: Context | None = None
    ) -> None:
        self._real.set(amount, attributes, context)


class _Observable(_Rebindable[Any]):
    """Observable instruments only carry callbacks: re-creating them is all a switch needs."""


class _ObservableCounter(_Observable, metrics.ObservableCounter):
    pass


class _ObservableUpDownCounter(_Observable, metrics.ObservableUpDownCounter):
    pass


class _ObservableGauge(_Observable, metrics.ObservableGauge):
    pass


class _SwitchingMeter(metrics.Meter):
    def __init__(self, key: _Key, attributes: Attributes) -> None:
        super().__init__(*key)
        self._key = key
        self._attributes = attributes
        self._real: metrics.Meter = metrics.NoOpMeter(key[0])
        self._instruments: list[_Rebindable[Any]] = []

    def bind(self, provider: metrics.MeterProvider) -> None:
        name, version, schema_url = self._key
        self._real = provider.get_meter(name, version, schema_url, self._attributes)
        for instrument in self._instruments:
            instrument.bind(self._real)

    def _keep(
        self, kind: Callable[[Callable[[metrics.Meter], Any], metrics.Meter], _R], make: Any
    ) -> _R:
        # Under the switch lock, so an instrument made during a switch is bound to the new meter.
        with _lock:
            instrument = kind(make, self._real)
            # `kind` is always one of the _Rebindable subclasses; the TypeVar cannot say so.
            self._instruments.append(instrument)  # type: ignore[arg-type]
        return instrument

    def create_counter(self, name: str, unit: str = "", description: str = "") -> metrics.Counter:
        def make(meter: metrics.Meter) -> metrics.Counter:
            return meter.create_counter(name, unit, description)

        return self._keep(_Counter, make)

    def create_up_down_counter(
        self, name: str, unit: str = "", description: str = ""
    ) -> metrics.UpDownCounter:
        def make(meter: metrics.Meter) -> metrics.UpDownCounter:
            return meter.create_up_down_counter(name, unit, description)

        return self._keep(_UpDownCounter, make)

    def create_histogram(
        self,
        name: str,
        unit: str = "",
        description: str = "",
        *,
        explicit_bucket_boundaries_advisory: Sequence[float] | None = None,
    ) -> metrics.Histogram:
        def make(meter: metrics.Meter) -> metrics.Histogram:
            return meter.create_histogram(
                name,
                unit,
                description,
                explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory,
            )

        return self._keep(_Histogram, make)

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> Gauge:
        def make(meter: metrics.Meter) -> Gauge:
            return meter.create_gauge(name, unit, description)

        return self._keep(_Gauge, make)

    def create_observable_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableCounter:
        def make(meter: metrics.Meter) -> metrics.ObservableCounter:
            return meter.create_observable_counter(name, callbacks, unit, description)

        return self._keep(_ObservableCounter, make)

    def create_observable_up_down_counter(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableUpDownCounter:
        def make(meter: metrics.Meter) -> metrics.ObservableUpDownCounter:
            return meter.create_observable_up_down_counter(name, callbacks, unit, description)

        return self._keep(_ObservableUpDownCounter, make)

    def create_observable_gauge(
        self,
        name: str,
        callbacks: Sequence[CallbackT] | None = None,
        unit: str = "",
        description: str = "",
    ) -> metrics.ObservableGauge:
        def make(meter: metrics.Meter) -> metrics.ObservableGauge:
            return meter.create_observable_gauge(name, callbacks, unit, description)

        return self._keep(_ObservableGauge, make)


class SwitchingMeterProvider(
    _Switching[metrics.MeterProvider, _SwitchingMeter], metrics.MeterProvider
):
    """A MeterProvider whose instruments record into whichever provider was switched in last."""

    def __init__(self) -> None:
        super().__init__(metrics.NoOpMeterProvider(), _SwitchingMeter)

    def get_meter(
        self,
        name: str,
        version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> metrics.Meter:
        return self._handle((name, version, schema_url), attributes)


TRACER_PROVIDER = SwitchingTracerProvider()
METER_PROVIDER = SwitchingMeterProvider()
_installed = False


def install() -> bool:
    """Make the switchable providers the process's global ones (once; later calls are free).

    Return False if something else already claimed the globals: our spans then only reach
    instrumentation that was handed our providers explicitly.
    """
    global _installed
    with _lock:
        if _installed:
            return True
        trace.set_tracer_provider(TRACER_PROVIDER)
        metrics.set_meter_provider(METER_PROVIDER)
        _installed = (
            trace.get_tracer_provider() is TRACER_PROVIDER
            and metrics.get_meter_provider() is METER_PROVIDER
        )
        return _installed
