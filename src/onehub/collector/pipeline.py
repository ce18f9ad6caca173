"""Receivers → processors → exporters, as configured under `service.pipelines`.

Everything here runs on the event loop except `Batch.done`, which exporters may call from
their own threads. Memory is bounded: each request is charged to its pipeline's memory limiter
when it arrives and released when every exporter is done with it; a request that does not fit
is refused with PipelineFullError, which receivers turn into the retryable OTLP signals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

from google.protobuf.message import Message

from onehub.collector.attributes_processor import AttributesProcessor
from onehub.collector.batch import (
    Batch,
    ExportRequest,
    MemoryLimiter,
    PipelineFullError,
    count_items,
)
from onehub.collector.config import (
    DEFAULT_LIMIT_BYTES,
    AttributesConfig,
    BatchConfig,
    MemoryLimiterConfig,
    PipelineConfig,
    PipelineSpec,
    Signal,
)

logger = logging.getLogger(__name__)

# Room appears when the writer thread commits; polling keeps the limiter free of event-loop
# plumbing, and at this interval costs nothing measurable.
_ROOM_POLL_S = 0.005


class Exporter(Protocol):
    """An exporter component. `export` must not block; it calls `batch.done()` exactly once,
    now or later, from any thread. `stop` exports or drops what it still holds."""

    async def start(self) -> None: ...

    def export(self, batch: Batch) -> None: ...

    async def stop(self, grace_s: float) -> None: ...


@dataclass
class SignalCounters:
    received_items: int = 0
    received_requests: int = 0
    refused_requests: int = 0


@dataclass
class _Batcher:
    config: BatchConfig
    requests: list[ExportRequest] = field(default_factory=list)
    items: int = 0
    size_bytes: int = 0
    timer: asyncio.TimerHandle | None = None


class Pipeline:
    """One `service.pipelines` entry."""

    def __init__(
        self,
        spec: PipelineSpec,
        limiter: MemoryLimiter,
        processors: list[AttributesProcessor],
        batch: BatchConfig | None,
        exporters: list[Exporter],
    ) -> None:
        self.spec = spec
        self.limiter = limiter
        self._processors = processors
        self._batcher = None if batch is None else _Batcher(batch)
        self._exporters = exporters

    def consume(self, request: ExportRequest, items: int, size_bytes: int) -> None:
        """Admit a request or raise PipelineFullError; processing and export happen from here."""
        self.limiter.acquire(size_bytes)
        for processor in self._processors:
            processor.process(request)
        batcher = self._batcher
        if batcher is None:
            self._send([request], items, size_bytes)
            return
        batcher.requests.append(request)
        batcher.items += items
        batcher.size_bytes += size_bytes
        if batcher.items >= batcher.config.send_batch_size:
            self.flush()
        elif batcher.timer is None:
            loop = asyncio.get_running_loop()
            batcher.timer = loop.call_later(batcher.config.timeout_s, self.flush)

    def flush(self) -> None:
        """Send what the batch processor holds now."""
        batcher = self._batcher
        if batcher is None:
            return
        if batcher.timer is not None:
            batcher.timer.cancel()
            batcher.timer = None
        if batcher.requests:
            requests, items, size = batcher.requests, batcher.items, batcher.size_bytes
            batcher.requests, batcher.items, batcher.size_bytes = [], 0, 0
            self._send(requests, items, size)

    def _send(self, requests: list[ExportRequest], items: int, size_bytes: int) -> None:
        batch = Batch(self.spec.signal, requests, items, size_bytes, self.limiter.release)
        batch.hold(len(self._exporters))
        for exporter in self._exporters:
            try:
                exporter.export(batch)
            except Exception:
                # One broken exporter must not stop the others nor leak the batch's budget.
                logger.exception("exporter failed in pipeline %s", self.spec.name)
                batch.done()


class Pipelines:
    """All pipelines, routed by signal; what receivers call."""

    def __init__(self, config: PipelineConfig, exporters: Mapping[str, Exporter]) -> None:
        limiters: dict[str, MemoryLimiter] = {}
        self._waiting_bytes = 0  # event loop only
        self._by_signal: dict[Signal, list[Pipeline]] = {}
        self.counters: dict[Signal, SignalCounters] = {
            "traces": SignalCounters(),
            "metrics": SignalCounters(),
            "logs": SignalCounters(),
        }
        for spec in config.pipelines:
            limiter: MemoryLimiter | None = None
            processors: list[AttributesProcessor] = []
            batch: BatchConfig | None = None
            for name in spec.processors:
                processor = config.processors[name]
                if isinstance(processor, MemoryLimiterConfig):
                    # One limiter per configured name, shared by the pipelines that use it.
                    limiter = limiters.setdefault(name, MemoryLimiter(processor.limit_bytes))
                elif isinstance(processor, AttributesConfig):
                    processors.append(AttributesProcessor(processor))
                elif isinstance(processor, BatchConfig):
                    batch = processor
            if limiter is None:
                limiter = MemoryLimiter(DEFAULT_LIMIT_BYTES)
            pipeline = Pipeline(
                spec, limiter, processors, batch, [exporters[name] for name in spec.exporters]
            )
            self._by_signal.setdefault(spec.signal, []).append(pipeline)

    def accepts(self, signal: Signal) -> bool:
        return signal in self._by_signal

    async def wait_for_room(self, signal: Signal, size_bytes: int, timeout_s: float) -> None:
        """Wait up to `timeout_s` until the first pipeline of `signal` could take a request of
        `size_bytes` (encoded); return early, without waiting, when requests already waiting
        hold as many bytes as its memory limit, so waiting stays bounded too. The caller then
        decodes and consumes, which may still raise PipelineFullError.

        Why wait at all: a sender told to retry stops for its own back-off (the OpenTelemetry
        SDKs, a second or more), while the store frees room every commit (about every 0.25 s
        under load); measured with four senders, ~100 refusals per 200k spans before.
        """
        pipelines = self._by_signal.get(signal)
        if not pipelines:
            return
        limiter = pipelines[0].limiter
        if limiter.has_room(size_bytes) or self._waiting_bytes + size_bytes > limiter.limit_bytes:
            return
        self._waiting_bytes += size_bytes
        try:
            deadline = asyncio.get_running_loop().time() + timeout_s
            while not limiter.has_room(size_bytes):
                if asyncio.get_running_loop().time() >= deadline:
                    return
                await asyncio.sleep(_ROOM_POLL_S)
        finally:
            self._waiting_bytes -= size_bytes

    def consume(self, signal: Signal, request: ExportRequest, size_bytes: int) -> int:
        """Hand a request to every pipeline of its signal; returns the item count.

        Raises PipelineFullError when the first pipeline cannot take it (nothing was admitted);
        later pipelines that are full drop their copy and count it, as fan-out in the
        OpenTelemetry Collector does not undo what one branch accepted.
        """
        counters = self.counters[signal]
        counters.received_requests += 1
        pipelines = self._by_signal.get(signal, [])
        items = count_items(signal, request)
        for index, pipeline in enumerate(pipelines):
            # Processors change requests in place: each further pipeline gets its own copy.
            mine = request if index == 0 else _copy(request)
            try:
                pipeline.consume(mine, items, size_bytes)
            except PipelineFullError:
                counters.refused_requests += 1
                if index == 0:
                    raise
        counters.received_items += items
        return items

    def flush(self) -> None:
        for pipelines in self._by_signal.values():
            for pipeline in pipelines:
                pipeline.flush()

    def pending_bytes(self) -> int:
        limiters = {id(p.limiter): p.limiter for ps in self._by_signal.values() for p in ps}
        return sum(limiter.used_bytes for limiter in limiters.values())


def _copy(request: ExportRequest) -> ExportRequest:
    duplicate = type(request)()
    cast(Message, duplicate).CopyFrom(cast(Message, request))
    return duplicate
