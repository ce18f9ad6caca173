"""A lean batching span processor that never makes a request wait and says what it drops.

The SDK's BatchSpanProcessor logs "Queue full" without a count, counts drops only behind an
opt-in flag, and ignores its export timeout. This one keeps the request path to an append on a
bounded deque, counts every span it had to drop, and warns at most once per interval with the
number dropped since the last warning. Export runs on one daemon thread; a dead or stalling
receiver only delays that thread (each export is bounded by the exporter's own deadline), and
export resumes by itself once the receiver answers again.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Sequence

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_log = logging.getLogger("onehub.telemetry")


class BoundedBatchSpanProcessor(SpanProcessor):
    """Queue finished, sampled spans (at most `max_queue_size`) and export them in batches.

    `dropped` counts spans that never reached the receiver: lost to a full queue (a slow or
    stalled receiver) or in a batch the exporter gave up on (a dead receiver; the exporter has
    already retried within its deadline). `export_failures` counts those failed batches.
    """

    def __init__(
        self,
        exporter: SpanExporter,
        *,
        max_queue_size: int = 2048,
        max_export_batch_size: int = 512,
        schedule_delay_s: float = 1.0,
        drop_warning_interval_s: float = 30.0,
        target: str = "the OTLP receiver",
    ) -> None:
        if not 0 < max_export_batch_size <= max_queue_size:
            raise ValueError("need 0 < max_export_batch_size <= max_queue_size")
        self._exporter = exporter
        self._max_queue_size = max_queue_size
        self._batch_size = max_export_batch_size
        self._delay = schedule_delay_s
        self._warning_interval = drop_warning_interval_s
        self._target = target
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._wake = threading.Event()
        self._export_lock = threading.Lock()
        self._stopping = False
        self.dropped = 0
        self.dropped_queue_full = 0
        self.export_failures = 0
        self._dropped_warned = 0
        self._last_warning = float("-inf")
        self._worker = threading.Thread(target=self._run, name="onehub-span-export", daemon=True)
        self._worker.start()

    # --- request path: keep it to a few attribute reads and an append
    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is None or not context.trace_flags.sampled or self._stopping:
            return
        queue = self._queue
        if len(queue) >= self._max_queue_size:
            self.dropped_queue_full += 1
            self.dropped += 1
            return
        queue.append(span)
        if len(queue) >= self._batch_size:
            self._wake.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    # --- export thread
    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self._delay)
            self._wake.clear()
            self._export_all()
            self._warn_about_drops()
        self._export_all()

    def _export_all(self) -> None:
        with self._export_lock:
            while self._queue:
                count = min(self._batch_size, len(self._queue))
                batch = [self._queue.popleft() for _ in range(count)]
                self._export(batch)

    def _export(self, batch: Sequence[ReadableSpan]) -> None:
        try:
            result = self._exporter.export(batch)
        except Exception:
            # An exporter bug must not kill the export thread; the batch is lost and counted.
            _log.exception("span exporter raised; %d spans lost", len(batch))
            result = SpanExportResult.FAILURE
        if result is not SpanExportResult.SUCCESS:
            self.export_failures += 1
            self.dropped += len(batch)

    def _warn_about_drops(self) -> None:
        new_drops = self.dropped - self._dropped_warned
        now = time.monotonic()
        if new_drops and now - self._last_warning >= self._warning_interval:
            self._dropped_warned += new_drops
            self._last_warning = now
            _log.warning(
                "dropped %d spans since the last warning (%d in total: %d for a full queue of "
                "%d, the rest in %d failed exports); is %s reachable?",
                new_drops,
                self.dropped,
                self.dropped_queue_full,
                self._max_queue_size,
                self.export_failures,
                self._target,
            )

    # --- lifecycle
    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Export what is queued now; False if that did not finish within the timeout."""
        done = threading.Event()

        def flush() -> None:
            self._export_all()
            done.set()

        threading.Thread(target=flush, name="onehub-span-flush", daemon=True).start()
        return done.wait(timeout_millis / 1000)

    def shutdown(self, timeout_millis: int = 5_000) -> None:
        """Stop accepting spans, export the queue within the timeout, then shut the exporter.

        Idempotent. Spans still queued when the timeout passes are dropped (and counted).
        """
        if self._stopping:
            return
        self._stopping = True
        self._wake.set()
        self._worker.join(timeout_millis / 1000)
        left_behind = len(self._queue)
        self.dropped += left_behind
        self.dropped_queue_full += left_behind
        self._warn_about_drops()
        self._exporter.shutdown()
