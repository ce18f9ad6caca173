"""The `otlp` exporter: forwards batches over OTLP/gRPC to another collector.

Batches wait in a bounded queue (`sending_queue.queue_size`); when it is full the newest batch
is dropped and counted, so a collector that is down downstream never grows our memory. Sends
are retried with backoff on the codes the OTLP specification calls retryable. The channel is
TLS (optionally mutual) unless the configuration says `tls: {insecure: true}`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import grpc
from google.protobuf.message import Message

from onehub_collector.batch import REQUEST_TYPES, Batch, ExportRequest
from onehub_collector.config import OtlpExporterConfig, Signal
from onehub_collector.receivers.grpc_receiver import EXPORT_METHODS, RESPONSE_TYPES

logger = logging.getLogger(__name__)

_RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.OUT_OF_RANGE,
        grpc.StatusCode.DATA_LOSS,
    }
)
_MAX_ELAPSED_S = 60.0
_WORKERS = 4


@dataclass
class ForwardCounters:
    sent_batches: int = 0
    sent_items: int = 0
    dropped_batches: int = 0
    failed_batches: int = 0


class OtlpForwardExporter:
    durable_ack = False

    def __init__(self, name: str, config: OtlpExporterConfig) -> None:
        self._name = name
        self._config = config
        self._queue: asyncio.Queue[tuple[Signal, Sequence[ExportRequest], int]] | None = None
        self._channel: grpc.aio.Channel | None = None
        self._workers: list[asyncio.Task[None]] = []
        self.counters = ForwardCounters()

    async def start(self) -> None:
        self._queue = asyncio.Queue(self._config.queue_size)
        self._channel = _channel(self._config)
        self._workers = [asyncio.create_task(self._work()) for _ in range(_WORKERS)]

    def export(self, batch: Batch) -> None:
        # The queue owns the requests from here on (bounded by queue_size batches), so the
        # pipeline's budget is released at once: a slow downstream must not stall local storage.
        try:
            assert self._queue is not None, "export before start"
            self._queue.put_nowait((batch.signal, batch.requests, batch.items))
        except asyncio.QueueFull:
            self.counters.dropped_batches += 1
            logger.warning(
                "%s: queue full (downstream %s slow or down); dropped %d %s",
                self._name,
                self._config.endpoint,
                batch.items,
                batch.signal,
            )
        finally:
            batch.done()

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            signal, requests, items = await self._queue.get()
            try:
                await self._send(signal, requests, items)
            finally:
                self._queue.task_done()

    async def _send(self, signal: Signal, requests: Sequence[ExportRequest], items: int) -> None:
        assert self._channel is not None
        merged = REQUEST_TYPES[signal]()
        for request in requests:
            cast(Message, merged).MergeFrom(cast(Message, request))
        call = self._channel.unary_unary(
            EXPORT_METHODS[signal],
            request_serializer=_serialize,
            response_deserializer=RESPONSE_TYPES[signal].FromString,
        )
        deadline = time.monotonic() + _MAX_ELAPSED_S
        delay = 0.2
        while True:
            try:
                await call(merged, timeout=self._config.timeout_s)
                self.counters.sent_batches += 1
                self.counters.sent_items += items
                return
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in _RETRYABLE or time.monotonic() + delay > deadline:
                    self.counters.failed_batches += 1
                    logger.warning(
                        "%s: forwarding %d %s to %s failed: %s",
                        self._name,
                        items,
                        signal,
                        self._config.endpoint,
                        exc.code().name,
                    )
                    return
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)

    async def stop(self, grace_s: float) -> None:
        if self._queue is not None:
            try:
                await asyncio.wait_for(self._queue.join(), grace_s)
            except TimeoutError:
                logger.warning(
                    "%s: %d batches not forwarded at shutdown", self._name, self._queue.qsize()
                )
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        if self._channel is not None:
            await self._channel.close(grace=None)


def _channel(config: OtlpExporterConfig) -> grpc.aio.Channel:
    tls = config.tls
    if tls is None:
        return grpc.aio.insecure_channel(config.endpoint)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=tls.ca_pem, private_key=tls.key_pem, certificate_chain=tls.cert_pem
    )
    options = []
    if tls.server_name_override is not None:
        options.append(("grpc.ssl_target_name_override", tls.server_name_override))
    return grpc.aio.secure_channel(config.endpoint, credentials, options)


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()
