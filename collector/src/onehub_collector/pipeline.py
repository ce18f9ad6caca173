"""Receivers → processors → exporters, as configured under `service.pipelines`.

Everything here runs on the event loop except `Batch.done`, which exporters may call from
their own threads. Memory is bounded: each request is charged to its pipeline's memory limiter
when it arrives and released when every exporter is done with it; a request that does not fit
is refused with PipelineFullError, which receivers turn into the retryable OTLP signals.

Acknowledgement: a pipeline with a store exporter (unless that store says `durable_ack:
false`) acknowledges a request only when every exporter of the pipeline is done with it: the
store once the transaction holding it is committed, `otlp` once the batch is in its sending
queue, `debug` once logged. Such a pipeline's batch processor sends what it holds at the end
of the event-loop turn instead of after its timeout (a sender is waiting); the store's writer
then puts everything that arrived during one commit into the next (group commit). Pipelines
without a store acknowledge a request when it is admitted, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

from google.protobuf.message import Message

from onehub_collector.attributes_processor import AttributesProcessor
from onehub_collector.batch import (
    Acknowledgements,
    Batch,
    ExportFailedError,
    ExportRequest,
    MemoryLimiter,
    PipelineFullError,
    count_items,
)
from onehub_collector.config import (
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
    now or later, from any thread (with an ExportFailedError when it failed to keep what it
    must keep). `stop` exports or drops what it still holds. `durable_ack`: the pipelines
    using it acknowledge requests only once every exporter is done with them."""

    durable_ack: bool

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
    timer: asyncio.Handle | None = None
    acknowledgements: Acknowledgements | None = None


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
        self.acknowledges = any(exporter.durable_ack for exporter in exporters)

    def consume(
        self, request: ExportRequest, items: int, size_bytes: int
    ) -> asyncio.Future[None] | None:
        """Admit a request or raise PipelineFullError; processing and export happen from here.

        Returns, when this pipeline acknowledges after export, the future that settles once
        every exporter is done with the request (ExportFailedError when one failed); None
        when admission is the acknowledgement.
        """
        self.limiter.acquire(size_bytes)
        for processor in self._processors:
            processor.process(request)
        loop = asyncio.get_running_loop()
        batcher = self._batcher
        if batcher is None:
            acknowledgements = Acknowledgements(loop) if self.acknowledges else None
            future = None if acknowledgements is None else acknowledgements.add()
            self._send([request], items, size_bytes, acknowledgements)
            return future
        future = None
        if self.acknowledges:
            if batcher.acknowledgements is None:
                batcher.acknowledgements = Acknowledgements(loop)
            future = batcher.acknowledgements.add()
        batcher.requests.append(request)
        batcher.items += items
        batcher.size_bytes += size_bytes
        if batcher.items >= batcher.config.send_batch_size:
            self.flush()
        elif batcher.timer is None:
            if self.acknowledges:
                # A sender waits: send at the end of this loop turn, with whatever else
                # arrived in it, rather than after the batch timeout.
                batcher.timer = loop.call_soon(self.flush)
            else:
                batcher.timer = loop.call_later(batcher.config.timeout_s, self.flush)
        return future

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
            acknowledgements = batcher.acknowledgements
            batcher.requests, batcher.items, batcher.size_bytes = [], 0, 0
            batcher.acknowledgements = None
            self._send(requests, items, size, acknowledgements)

    def _send(
        self,
        requests: list[ExportRequest],
        items: int,
        size_bytes: int,
        acknowledgements: Acknowledgements | None,
    ) -> None:
        batch = Batch(
            self.spec.signal, requests, items, size_bytes, self.limiter.release, acknowledgements
        )
        batch.hold(len(self._exporters))
        for exporter in self._exporters:
            try:
                exporter.export(batch)
            except Exception:
                # One broken exporter must not stop the others nor leak the batch's budget;
                # the senders waiting for this batch are told to retry.
                logger.exception("exporter failed in pipeline %s", self.spec.name)
                batch.done(ExportFailedError("an exporter failed; retry later"))


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

    def consume(
        self, signal: Signal, request: ExportRequest, size_bytes: int
    ) -> tuple[int, list[asyncio.Future[None]]]:
        """Hand a request to every pipeline of its signal; returns the item count and the
        futures to await before acknowledging it (see the module docstring).

        Raises PipelineFullError when the first pipeline cannot take it (nothing was
        admitted), or when a later pipeline that acknowledges after export cannot (its copy
        would be lost after a 200). Other later pipelines that are full drop their copy and
        count it, as fan-out in the OpenTelemetry Collector does not undo what one branch
        accepted.
        """
        counters = self.counters[signal]
        counters.received_requests += 1
        pipelines = self._by_signal.get(signal, [])
        items = count_items(signal, request)
        waits: list[asyncio.Future[None]] = []
        for index, pipeline in enumerate(pipelines):
            # Processors change requests in place: each further pipeline gets its own copy.
            mine = request if index == 0 else _copy(request)
            try:
                future = pipeline.consume(mine, items, size_bytes)
            except PipelineFullError:
                counters.refused_requests += 1
                if index == 0 or pipeline.acknowledges:
                    for earlier in waits:
                        earlier.add_done_callback(_ignore_outcome)
                    raise
                continue
            if future is not None:
                waits.append(future)
        counters.received_items += items
        return items, waits

    def flush(self) -> None:
        for pipelines in self._by_signal.values():
            for pipeline in pipelines:
                pipeline.flush()

    def pending_bytes(self) -> int:
        limiters = {id(p.limiter): p.limiter for ps in self._by_signal.values() for p in ps}
        return sum(limiter.used_bytes for limiter in limiters.values())


def _ignore_outcome(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: nobody waits for a request that was refused


def _copy(request: ExportRequest) -> ExportRequest:
    duplicate = type(request)()
    cast(Message, duplicate).CopyFrom(cast(Message, request))
    return duplicate
