"""The store's one writer: a thread that owns the only write connection.

Batches arrive on an in-memory queue (its size is bounded upstream by the pipeline's memory
limiter). Whatever waits in the queue when a transaction starts joins it (group commit), and
each batch's `on_done` runs only after that transaction is committed, or failed (with the
error), so an acknowledgement given from `on_done` is a promise the rows are in the WAL: they
survive the process being killed. With synchronous=NORMAL an OS crash or power loss may still
lose the commits made since the last checkpoint (see schema.connect).

A write that fails (disk full, I/O error) is rolled back whole and reported to its batches;
the failure is logged once when it starts and once when writes succeed again, not per batch.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from onehub_collector.store.ids import DimensionIds
from onehub_collector.store.retention import Retention, apply_retention
from onehub_collector.store.schema import connect, create_schema
from onehub_collector.store.tag_filter import attribute_signature

logger = logging.getLogger(__name__)

_STATUS_ERROR = 2
_MAX_JOINED_ITEMS = 16_384
_WRITER_CHECKPOINT_PAGES = 65_536  # 256 MiB of WAL: only if the checkpointer falls behind
_CHECKPOINT_INTERVAL_S = 0.5
_INSERT_SPAN = (
    "INSERT OR IGNORE INTO spans(trace_id, span_id, parent_id, service_id, operation_id, kind,"
    " start_us, duration_us, status, resource_id, scope_id, body, tag_bloom)"
    " VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_INSERT_LOG = (
    "INSERT INTO logs(trace_id, span_id, time_us, service_id, resource_id, scope_id, body)"
    " VALUES(?,?,?,?,?,?,?)"
)


@dataclass(frozen=True)
class StoredRoot:
    """A root span just committed: what the live tail announces."""

    trace_id: bytes
    service: str
    operation: str
    start_us: int
    duration_us: int
    span_count: int
    errors: int


class StoreWriteError(Exception):
    """A transaction could not be committed; str() is one line fit for a sender."""


def _ignore(error: StoreWriteError | None) -> None:
    return None


@dataclass
class WriteBatch:
    """Requests to commit together; `on_done` runs on the writer thread after the commit
    (with None) or the failure (with the error). `items` (spans plus log records) only bounds
    how many batches share one transaction."""

    traces: Sequence[ExportTraceServiceRequest] = ()
    logs: Sequence[ExportLogsServiceRequest] = ()
    items: int = 0
    on_done: Callable[[StoreWriteError | None], None] = field(default=_ignore)


@dataclass
class WriterCounters:
    spans_stored: int = 0
    logs_stored: int = 0
    spans_rejected: int = 0
    batches_failed: int = 0
    commits: int = 0
    write_failures: int = 0  # episodes: runs of failed transactions


_STOP = object()


class StoreWriter:
    """Owns the write connection; `submit` never blocks, `stop` drains and closes."""

    def __init__(
        self,
        path: Path,
        retention: Retention,
        *,
        on_roots: Callable[[list[StoredRoot]], None] | None = None,
        wants_roots: Callable[[], bool] = lambda: False,
        cache_mib: int = 32,
    ) -> None:
        self._path = path
        self._retention = retention
        self._on_roots = on_roots
        self._wants_roots = wants_roots
        self._conn = connect(path, cache_mib=cache_mib)
        create_schema(self._conn, path)
        # Checkpoints (copying the WAL into the database, with its fsync) run on their own
        # thread; the writer checkpoints itself only if that thread falls far behind.
        self._conn.execute(f"PRAGMA wal_autocheckpoint={_WRITER_CHECKPOINT_PAGES}")
        self._checkpointer = Checkpointer(path)
        self._ids = DimensionIds(self._conn)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="trace-store-writer", daemon=True)
        self._next_retention = 0.0
        self._failed_in_a_row = 0
        self.counters = WriterCounters()

    def start(self) -> None:
        self._thread.start()
        self._checkpointer.start()

    def submit(self, batch: WriteBatch) -> None:
        self._queue.put(batch)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything submitted so far is committed; False on timeout."""
        done = threading.Event()
        self._queue.put(WriteBatch(on_done=lambda _: done.set()))
        return done.wait(timeout)

    def stop(self, timeout: float = 30.0) -> None:
        """Commit what is queued, then close the connection."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)
        self._checkpointer.stop()
        if not self._thread.is_alive():
            self._conn.close()

    def _run(self) -> None:
        while True:
            try:
                # Wake up now and then even when idle: retention must run without traffic.
                item = self._queue.get(timeout=self._retention.check_interval_s)
            except queue.Empty:
                self._maybe_apply_retention()
                continue
            if item is _STOP:
                return
            pending: list[WriteBatch] = [item]
            # Whatever else already waits joins the same transaction (fewer commits under load),
            # up to a bound so one transaction's rows never hold much memory.
            stop_after = False
            joined = item.items
            while joined < _MAX_JOINED_ITEMS:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop_after = True
                    break
                pending.append(more)
                joined += more.items
            self._commit(pending)
            self._maybe_apply_retention()
            if stop_after:
                return

    def _commit(self, batches: list[WriteBatch]) -> None:
        roots: list[tuple[bytes, str, str, int, int]] | None = [] if self._wants_roots() else None
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            spans = logs = 0
            # Row by request, not for the whole transaction: the rows of one request at a time.
            for batch in batches:
                for request in batch.traces:
                    span_rows: list[tuple[Any, ...]] = []
                    self._span_rows(request, span_rows, roots)
                    self._conn.executemany(_INSERT_SPAN, span_rows)
                    spans += len(span_rows)
                for log_request in batch.logs:
                    log_rows: list[tuple[Any, ...]] = []
                    self._log_rows(log_request, log_rows)
                    self._conn.executemany(_INSERT_LOG, log_rows)
                    logs += len(log_rows)
            if spans or logs:
                self._conn.execute(
                    "INSERT INTO commits(committed_us, last_span_id, last_log_id)"
                    " VALUES(?, (SELECT coalesce(max(id), 0) FROM spans),"
                    " (SELECT coalesce(max(id), 0) FROM logs))",
                    (time.time_ns() // 1000,),
                )
            stored_roots = self._describe_roots(roots) if roots else []
            self._conn.execute("COMMIT")
            self.counters.spans_stored += spans
            self.counters.logs_stored += logs
            self.counters.commits += 1
            error = None
            if spans or logs:  # an empty transaction writes nothing: it proves nothing
                self._note_success()
        except Exception as exc:  # sqlite3.Error mostly; anything else must not kill the thread
            # Nothing of these batches is kept; their senders are told to retry, and the
            # collector lives on: a full disk must not kill ingest nor queries.
            error = StoreWriteError(f"trace store cannot write: {exc}; retry later")
            self._note_failure(exc, len(batches))
            self._rollback()
            self._ids.clear()
            stored_roots = []
        for batch in batches:
            batch.on_done(error)
        if stored_roots and self._on_roots is not None:
            self._on_roots(stored_roots)

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("ROLLBACK")
            except sqlite3.Error:
                # SQLite may already have rolled back itself (e.g. on SQLITE_FULL).
                logger.debug("trace store: rollback after a failed write failed", exc_info=True)

    def _note_failure(self, exc: Exception, batches: int) -> None:
        self.counters.batches_failed += batches
        if self._failed_in_a_row == 0:
            self.counters.write_failures += 1
            logger.error(
                "trace store: cannot write (%s); telemetry is refused with a retryable error"
                " (OTLP/HTTP 503, OTLP/gRPC UNAVAILABLE) until a write succeeds",
                exc,
            )
        self._failed_in_a_row += batches

    def _note_success(self) -> None:
        if self._failed_in_a_row:
            logger.warning(
                "trace store: writing again after %d refused batches", self._failed_in_a_row
            )
            self._failed_in_a_row = 0

    def _span_rows(
        self,
        request: ExportTraceServiceRequest,
        rows: list[tuple[Any, ...]],
        roots: list[tuple[bytes, str, str, int, int]] | None,
    ) -> None:
        ids = self._ids
        operations = ids.operations
        kinds = ids.operation_kinds
        append = rows.append
        signature = attribute_signature
        for resource_spans in request.resource_spans:
            resource_id, service_id, service = ids.resource(resource_spans.resource)
            for scope_spans in resource_spans.scope_spans:
                scope_id = ids.scope(scope_spans.scope)
                for span in scope_spans.spans:
                    trace_id = span.trace_id
                    span_id = span.span_id
                    if len(trace_id) != 16 or len(span_id) != 8 or trace_id == bytes(16):
                        self.counters.spans_rejected += 1
                        continue
                    name = span.name
                    operation_id = operations.get((service_id, name))
                    if operation_id is None:
                        operation_id = ids.operation(service_id, name)
                    kind = span.kind
                    if (operation_id, kind) not in kinds:
                        ids.note_kind(operation_id, kind)
                    start_us = span.start_time_unix_nano // 1000
                    duration_us = max(span.end_time_unix_nano // 1000 - start_us, 0)
                    parent_id = span.parent_span_id
                    body = span.SerializeToString()
                    append(
                        (
                            trace_id,
                            span_id,
                            parent_id,
                            service_id,
                            operation_id,
                            kind,
                            start_us,
                            duration_us,
                            span.status.code,
                            resource_id,
                            scope_id,
                            body,
                            signature(body),
                        )
                    )
                    if roots is not None and not parent_id:
                        roots.append((trace_id, service, name, start_us, duration_us))

    def _log_rows(self, request: ExportLogsServiceRequest, rows: list[tuple[Any, ...]]) -> None:
        ids = self._ids
        for resource_logs in request.resource_logs:
            resource_id, service_id, _ = ids.resource(resource_logs.resource)
            for scope_logs in resource_logs.scope_logs:
                scope_id = ids.scope(scope_logs.scope)
                for record in scope_logs.log_records:
                    time_ns = record.time_unix_nano or record.observed_time_unix_nano
                    rows.append(
                        (
                            record.trace_id,
                            record.span_id,
                            time_ns // 1000,
                            service_id,
                            resource_id,
                            scope_id,
                            record.SerializeToString(),
                        )
                    )

    def _describe_roots(self, roots: list[tuple[bytes, str, str, int, int]]) -> list[StoredRoot]:
        described = []
        for trace_id, service, operation, start_us, duration_us in roots:
            count, errors = self._conn.execute(
                "SELECT count(*), coalesce(sum(status = ?), 0) FROM spans WHERE trace_id = ?",
                (_STATUS_ERROR, trace_id),
            ).fetchone()
            described.append(
                StoredRoot(trace_id, service, operation, start_us, duration_us, count, errors)
            )
        return described

    def _maybe_apply_retention(self) -> None:
        now = time.monotonic()
        if now < self._next_retention:
            return
        self._next_retention = now + self._retention.check_interval_s
        try:
            if apply_retention(self._conn, self._retention):
                self._ids.clear()
        except sqlite3.Error as exc:
            if self._failed_in_a_row == 0:  # while writes fail, that one line says enough
                logger.warning("trace store: retention failed (%s); will retry", exc)
            self._rollback()
            self._ids.clear()


class Checkpointer:
    """Copies committed WAL frames into the database file in the background (PASSIVE: never
    blocks the writer or readers), and truncates the WAL when stopping."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._failing = False
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="trace-store-checkpoint", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)

    def _run(self) -> None:
        conn = connect(self._path, cache_mib=1)
        try:
            while not self._stop.wait(_CHECKPOINT_INTERVAL_S):
                self._checkpoint(conn, "PASSIVE")
            self._checkpoint(conn, "TRUNCATE")
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection, mode: str) -> None:
        try:
            conn.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
            self._failing = False
        except sqlite3.Error as exc:
            if not self._failing:  # once per episode: it is retried every half second
                logger.warning("trace store: WAL checkpoint failed (%s); will retry", exc)
            self._failing = True
