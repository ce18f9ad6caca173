"""The embedded store exporter and the debug exporter (forwarding lives in forward.py)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from onehub_collector.batch import Batch, ExportFailedError, count_items
from onehub_collector.config import DebugExporterConfig, StoreExporterConfig
from onehub_collector.otlp_values import service_name
from onehub_collector.store.writer import StoreWriteError, StoreWriter, WriteBatch
from onehub_collector.tail import TailHub

STORE_FILE = "traces.db"
debug_logger = logging.getLogger("onehub_collector.debug")


@dataclass
class MetricsCounters:
    requests: int = 0
    data_points: int = 0
    window_requests: int = 0
    window_bytes: int = 0


class MetricsWindow:
    """The most recent metric export requests, bounded by their encoded size; the query API
    needs no metrics, this keeps enough to look at and counts everything."""

    def __init__(self, max_bytes: int = 8 * 1024 * 1024) -> None:
        self._max_bytes = max_bytes
        self._entries: deque[tuple[int, ExportMetricsServiceRequest, int]] = deque()
        self.counters = MetricsCounters()

    def add(self, request: ExportMetricsServiceRequest) -> None:
        size = request.ByteSize()
        self.counters.requests += 1
        self.counters.data_points += count_items("metrics", request)
        self._entries.append((time.time_ns() // 1000, request, size))
        self.counters.window_bytes += size
        while self.counters.window_bytes > self._max_bytes and len(self._entries) > 1:
            _, _, dropped = self._entries.popleft()
            self.counters.window_bytes -= dropped
        self.counters.window_requests = len(self._entries)

    def recent(self) -> list[tuple[int, ExportMetricsServiceRequest]]:
        return [(received, request) for received, request, _ in self._entries]


class StoreExporter:
    """Writes traces and logs to the on-disk store through its one writer thread, and is done
    with a batch once its transaction is committed (or failed: the senders are told to retry).
    Metrics are kept in a bounded memory window only."""

    def __init__(self, data_dir: Path, config: StoreExporterConfig, tail: TailHub | None) -> None:
        self.durable_ack = config.durable_ack
        self.path = data_dir / STORE_FILE
        self.writer = StoreWriter(
            self.path,
            config.retention,
            on_roots=None if tail is None else tail.publish_from_thread,
            wants_roots=(lambda: False) if tail is None else tail.has_subscribers,
        )
        self.metrics = MetricsWindow()

    async def start(self) -> None:
        self.writer.start()

    def export(self, batch: Batch) -> None:
        if batch.signal == "metrics":
            for request in batch.requests:
                if isinstance(request, ExportMetricsServiceRequest):
                    self.metrics.add(request)
            batch.done()
            return
        traces = [r for r in batch.requests if isinstance(r, ExportTraceServiceRequest)]
        logs = [r for r in batch.requests if isinstance(r, ExportLogsServiceRequest)]

        def written(error: StoreWriteError | None) -> None:
            batch.done(None if error is None else ExportFailedError(str(error)))

        self.writer.submit(WriteBatch(traces=traces, logs=logs, items=batch.items, on_done=written))

    async def stop(self, grace_s: float) -> None:
        await asyncio.to_thread(self.writer.stop, grace_s)


class DebugExporter:
    """Logs a line per batch (basic), per resource (normal) or per span/record (detailed)."""

    durable_ack = False

    def __init__(self, name: str, config: DebugExporterConfig) -> None:
        self._name = name
        self._verbosity = config.verbosity

    async def start(self) -> None:
        return None

    def export(self, batch: Batch) -> None:
        try:
            debug_logger.info(
                "%s: %s: %d items in %d requests",
                self._name,
                batch.signal,
                batch.items,
                len(batch.requests),
            )
            if self._verbosity != "basic":
                for request in batch.requests:
                    self._describe(request)
        finally:
            batch.done()

    def _describe(
        self,
        request: ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest,
    ) -> None:
        if not isinstance(request, ExportTraceServiceRequest):
            return
        for resource_spans in request.resource_spans:
            service = service_name(resource_spans.resource.attributes)
            spans = [s for ss in resource_spans.scope_spans for s in ss.spans]
            debug_logger.info("%s:   resource %s: %d spans", self._name, service, len(spans))
            if self._verbosity == "detailed":
                for span in spans:
                    debug_logger.info(
                        "%s:     span %s trace=%s span=%s duration=%dus",
                        self._name,
                        span.name,
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        (span.end_time_unix_nano - span.start_time_unix_nano) // 1000,
                    )

    async def stop(self, grace_s: float) -> None:
        return None
