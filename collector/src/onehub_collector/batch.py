"""What flows through a pipeline: OTLP export requests grouped in batches, and the memory budget
they are charged against until every exporter is done with them."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from onehub_collector.config import Signal

ExportRequest = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest

REQUEST_TYPES: dict[Signal, type[ExportRequest]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}


class PipelineFullError(Exception):
    """The pipeline holds as much as its memory limit allows; the sender should retry later."""


class ExportFailedError(Exception):
    """An exporter could not keep a batch it must keep (the store could not commit it); the
    senders of its requests should retry later. str() is one line for the sender."""


class Acknowledgements:
    """The futures of the requests in one batch whose senders wait for it to be exported.

    Created on the event loop; `settle` may be called from any thread and resolves every
    future on the loop: with None, or with ExportFailedError when an exporter failed.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.futures: list[asyncio.Future[None]] = []

    def add(self) -> asyncio.Future[None]:
        future = self._loop.create_future()
        self.futures.append(future)
        return future

    def settle(self, error: ExportFailedError | None) -> None:
        if not self.futures:
            return
        # RuntimeError: the loop is closed, nobody is waiting any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(_settle, self.futures, error)


def _settle(futures: list[asyncio.Future[None]], error: ExportFailedError | None) -> None:
    for future in futures:
        if future.done():
            continue  # the sender went away (its request was cancelled)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)


class MemoryLimiter:
    """A byte budget for telemetry accepted but not yet exported. Thread-safe: the store's
    writer thread releases what the event loop acquired."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self._used = 0
        self._lock = threading.Lock()
        self.refused = 0

    @property
    def used_bytes(self) -> int:
        return self._used

    def has_room(self, size: int) -> bool:
        """Whether `acquire(size)` would succeed now."""
        return self._used + size <= self.limit_bytes or self._used == 0

    def acquire(self, size: int) -> None:
        """Charge `size` bytes; PipelineFullError when that would pass the limit. A single request
        larger than the whole budget is admitted only into an empty pipeline, so it cannot
        wait forever."""
        with self._lock:
            if self._used + size > self.limit_bytes and self._used > 0:
                self.refused += 1
                raise PipelineFullError(
                    f"pipeline full ({self._used} of {self.limit_bytes} bytes pending)"
                )
            self._used += size

    def release(self, size: int) -> None:
        with self._lock:
            self._used = max(0, self._used - size)


def count_items(signal: Signal, request: ExportRequest) -> int:
    """Spans, metric data points or log records in a request."""
    if isinstance(request, ExportTraceServiceRequest):
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if isinstance(request, ExportLogsServiceRequest):
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    points = 0
    for resource_metrics in request.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                which = metric.WhichOneof("data")
                if which is not None:
                    points += len(getattr(metric, which).data_points)
    return points


class Batch:
    """Requests of one signal handed to the exporters together.

    Every exporter calls `done()` exactly once when it no longer needs the batch (written,
    forwarded, queued elsewhere or dropped), with an ExportFailedError when it could not keep
    what it must keep (only the store does). After the last one the bytes are released, then
    the waiting senders are answered: acknowledged, or refused with the first error.
    """

    def __init__(
        self,
        signal: Signal,
        requests: Sequence[ExportRequest],
        items: int,
        size_bytes: int,
        on_release: Callable[[int], None],
        acknowledgements: Acknowledgements | None = None,
    ) -> None:
        self.signal = signal
        self.requests = requests
        self.items = items
        self.size_bytes = size_bytes
        self._on_release = on_release
        self._acknowledgements = acknowledgements
        self._error: ExportFailedError | None = None
        self._holders = 0
        self._lock = threading.Lock()

    def hold(self, holders: int) -> None:
        self._holders = holders
        if holders == 0:
            self._finish()

    def done(self, error: ExportFailedError | None = None) -> None:
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
            if error is not None and self._error is None:
                self._error = error
        if last:
            self._finish()

    def _finish(self) -> None:
        self._on_release(self.size_bytes)
        if self._acknowledgements is not None:
            self._acknowledgements.settle(self._error)
