"""Read side of the trace store: searches, whole traces, names, logs and time windows.

Every method takes its own connection from a small pool and is synchronous; the query layer
runs them on worker threads so the event loop never waits on SQLite. Readers see committed
data only (WAL snapshot per statement).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from opentelemetry.proto.common.v1.common_pb2 import InstrumentationScope
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from onehub_collector.otlp_values import value_as_text
from onehub_collector.store.schema import connect, create_schema
from onehub_collector.store.tag_filter import SpanFilter, compile_tags

# Spans arrive after they start; this much slack covers senders whose clocks run ahead.
_CLOCK_SLACK_US = 5 * 60 * 1_000_000
# A search scans at most this long, then answers with what it found (Jaeger's way: data plus
# a warning). Measured at 1.2M spans: searches that find their traces take 1-30 ms; a tag no
# span has scans the service's whole window, 70-130 ms through the signature and ~530 ms for a
# tag it cannot use (a 0x4A byte in it), growing with the store.
SEARCH_BUDGET_S = 0.25
# SQLite calls the budget check every this many VM steps (~1k steps: 10-200 µs).
_BUDGET_CHECK_STEPS = 1000


@dataclass(frozen=True)
class TraceQuery:
    """A search: a trace matches when one of its spans meets every filter."""

    service: str
    operation: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    start_min_us: int = 0
    start_max_us: int = 2**62
    duration_min_us: int | None = None
    duration_max_us: int | None = None
    limit: int = 20


@dataclass(frozen=True)
class TraceSearch:
    """Found trace ids, newest first; `complete` is False when the search budget ran out
    first, so older matching traces may exist."""

    trace_ids: list[bytes]
    complete: bool = True


@dataclass(frozen=True)
class StoredSpan:
    span: Span
    service: str
    resource_id: int
    scope_id: int


@dataclass(frozen=True)
class StoredLog:
    record: LogRecord
    service: str
    resource_id: int


@dataclass(frozen=True)
class SpanSummary:
    """The few columns statistics need, without decoding the span."""

    service: str
    operation: str
    kind: int
    start_us: int
    duration_us: int
    status: int


class StoreReader:
    """Query methods over a pool of read connections; safe to call from many threads."""

    def __init__(
        self,
        path: Path,
        *,
        pool_size: int = 2,
        cache_mib: int = 8,
        search_budget_s: float | None = None,
    ) -> None:
        """`search_budget_s` None means SEARCH_BUDGET_S (read now, so tests can lower it)."""
        self._path = path
        self._search_budget_s = SEARCH_BUDGET_S if search_budget_s is None else search_budget_s
        self._all: list[sqlite3.Connection] = []
        self._pool: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        for _ in range(pool_size):
            conn = connect(path, cache_mib=cache_mib)
            create_schema(conn, path)
            self._all.append(conn)
            self._pool.put(conn)
        self._lock = threading.Lock()
        self._resources: dict[int, tuple[Resource, dict[str, str]]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope, dict[str, str]]] = {}

    def close(self) -> None:
        for conn in self._all:
            conn.close()

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = self._pool.get()
        try:
            yield conn
        finally:
            self._pool.put(conn)

    # -- names -------------------------------------------------------------------------------

    def services(self) -> list[str]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT DISTINCT s.name FROM operations o JOIN services s ON s.id = o.service_id"
                " ORDER BY s.name"
            ).fetchall()
        return [name for (name,) in rows]

    def operations(self, service: str, kind: int | None = None) -> list[tuple[str, int]]:
        """(operation name, span kind) pairs of a service, sorted; empty for an unknown one."""
        sql = (
            "SELECT o.name, k.kind FROM operations o JOIN services s ON s.id = o.service_id"
            " JOIN operation_kinds k ON k.operation_id = o.id WHERE s.name = ?"
        )
        params: list[object] = [service]
        if kind is not None:
            sql += " AND k.kind = ?"
            params.append(kind)
        with self._conn() as conn:
            rows = conn.execute(sql + " ORDER BY o.name, k.kind", params).fetchall()
        return [(name, int(k)) for name, k in rows]

    # -- resources and scopes ----------------------------------------------------------------

    def resource(self, resource_id: int) -> Resource:
        return self._resource_entry(resource_id)[0]

    def scope(self, scope_id: int) -> InstrumentationScope:
        return self._scope_entry(scope_id)[0]

    def _resource_entry(self, resource_id: int) -> tuple[Resource, dict[str, str]]:
        found = self._resources.get(resource_id)
        if found is None:
            self._load_dimensions()
            found = self._resources.get(resource_id, (Resource(), {}))
        return found

    def _scope_entry(self, scope_id: int) -> tuple[InstrumentationScope, dict[str, str]]:
        found = self._scopes.get(scope_id)
        if found is None:
            self._load_dimensions()
            found = self._scopes.get(scope_id, (InstrumentationScope(), {}))
        return found

    def _load_dimensions(self) -> None:
        """Load resources and scopes added since the last load (ids only grow)."""
        with self._lock, self._conn() as conn:
            last_resource = max(self._resources, default=0)
            for resource_id, body in conn.execute(
                "SELECT id, body FROM resources WHERE id > ?", (last_resource,)
            ):
                resource = Resource.FromString(body)
                texts = {kv.key: value_as_text(kv.value) for kv in resource.attributes}
                self._resources[resource_id] = (resource, texts)
            last_scope = max(self._scopes, default=0)
            for scope_id, body in conn.execute(
                "SELECT id, body FROM scopes WHERE id > ?", (last_scope,)
            ):
                scope = InstrumentationScope.FromString(body)
                texts = {kv.key: value_as_text(kv.value) for kv in scope.attributes}
                texts["otel.scope.name"] = scope.name
                if scope.version:
                    texts["otel.scope.version"] = scope.version
                self._scopes[scope_id] = (scope, texts)

    # -- search ------------------------------------------------------------------------------

    def find_trace_ids(self, query: TraceQuery) -> list[bytes]:
        """Ids of up to `limit` matching traces, most recently started match first."""
        return self.search(query).trace_ids

    def search(self, query: TraceQuery) -> TraceSearch:
        """Up to `limit` matching traces, newest first, found within the search budget."""
        self._load_dimensions()
        with self._conn() as conn:
            ids = self._ids_of(conn, query)
            if ids is None:
                return TraceSearch([])
            service_id, operation_id = ids
            with self._lock:  # another query thread may be adding entries right now
                resources = {rid: texts for rid, (_, texts) in self._resources.items()}
                scopes = {sid: texts for sid, (_, texts) in self._scopes.items()}
            span_filter = compile_tags(query.tags, resources, scopes)
            where = ["service_id = ?", "start_us >= ?", "start_us <= ?"]
            params: list[object] = [service_id, query.start_min_us, query.start_max_us]
            if operation_id is not None:
                where.append("operation_id = ?")
                params.append(operation_id)
            if query.duration_min_us is not None:
                where.append("duration_us >= ?")
                params.append(query.duration_min_us)
            if query.duration_max_us is not None:
                where.append("duration_us <= ?")
                params.append(query.duration_max_us)
            where.extend(span_filter.sql)
            params.extend(span_filter.params)
            body = ", body" if span_filter.needs_body else ""
            deadline = time.monotonic() + self._search_budget_s
            # A true return interrupts the statement with OperationalError; set before
            # execute, which already runs the scan up to the first matching row.
            conn.set_progress_handler(lambda: time.monotonic() > deadline, _BUDGET_CHECK_STEPS)
            try:
                return _first_traces(
                    lambda: conn.execute(
                        f"SELECT trace_id, resource_id, scope_id{body} FROM spans"
                        f" INDEXED BY spans_by_service WHERE {' AND '.join(where)}"
                        " ORDER BY start_us DESC",
                        params,
                    ),
                    span_filter,
                    query.limit,
                )
            finally:
                conn.set_progress_handler(None, 0)

    def _ids_of(self, conn: sqlite3.Connection, query: TraceQuery) -> tuple[int, int | None] | None:
        """(service id, operation id or None); None when either name is unknown."""
        if query.operation:
            row = conn.execute(
                "SELECT o.service_id, o.id FROM operations o JOIN services s"
                " ON s.id = o.service_id WHERE s.name = ? AND o.name = ?",
                (query.service, query.operation),
            ).fetchone()
            return None if row is None else (int(row[0]), int(row[1]))
        row = conn.execute("SELECT id FROM services WHERE name = ?", (query.service,)).fetchone()
        return None if row is None else (int(row[0]), None)

    # -- whole traces ------------------------------------------------------------------------

    def spans_of(self, trace_ids: list[bytes]) -> dict[bytes, list[StoredSpan]]:
        """The stored spans of each trace id that has any, in start order."""
        found: dict[bytes, list[StoredSpan]] = {}
        if not trace_ids:
            return found
        with self._conn() as conn:
            names = dict(conn.execute("SELECT id, name FROM services").fetchall())
            marks = ",".join("?" * len(trace_ids))
            for trace_id, service_id, resource_id, scope_id, body in conn.execute(
                "SELECT trace_id, service_id, resource_id, scope_id, body FROM spans"
                f" WHERE trace_id IN ({marks}) ORDER BY start_us, id",
                trace_ids,
            ):
                found.setdefault(trace_id, []).append(
                    StoredSpan(
                        Span.FromString(body),
                        names.get(service_id, "unknown_service"),
                        resource_id,
                        scope_id,
                    )
                )
        return found

    def logs_of(self, trace_id: bytes) -> list[StoredLog]:
        with self._conn() as conn:
            names = dict(conn.execute("SELECT id, name FROM services").fetchall())
            rows = conn.execute(
                "SELECT service_id, resource_id, body FROM logs WHERE trace_id = ?"
                " ORDER BY time_us, id",
                (trace_id,),
            ).fetchall()
        return [
            StoredLog(LogRecord.FromString(body), names.get(sid, "unknown_service"), rid)
            for sid, rid, body in rows
        ]

    # -- time windows ------------------------------------------------------------------------

    def summaries(
        self, service: str | None, since_us: int, until_us: int, *, kind: int | None = None
    ) -> list[SpanSummary]:
        """Every span started in [since, until], optionally of one service and one kind."""
        kind_filter = "" if kind is None else " AND kind = ?"
        kind_args: tuple[int, ...] = () if kind is None else (kind,)
        with self._conn() as conn:
            services = dict(conn.execute("SELECT id, name FROM services").fetchall())
            operations = dict(conn.execute("SELECT id, name FROM operations").fetchall())
            if service is not None:
                by_name = {name: sid for sid, name in services.items()}
                if service not in by_name:
                    return []
                cursor = conn.execute(
                    "SELECT service_id, operation_id, kind, start_us, duration_us, status"
                    " FROM spans INDEXED BY spans_by_service"
                    " WHERE service_id = ? AND start_us BETWEEN ? AND ?" + kind_filter,
                    (by_name[service], since_us, until_us, *kind_args),
                )
            else:
                cursor = conn.execute(
                    "SELECT service_id, operation_id, kind, start_us, duration_us, status"
                    " FROM spans WHERE id >= ? AND start_us BETWEEN ? AND ?" + kind_filter,
                    (self._first_id_since(conn, since_us), since_us, until_us, *kind_args),
                )
            return [
                SpanSummary(services.get(s, "?"), operations.get(o, "?"), k, st, d, status)
                for s, o, k, st, d, status in cursor
            ]

    def dependencies(self, since_us: int, until_us: int) -> list[tuple[str, str, int]]:
        """(parent service, child service, calls) for parent-child spans across services."""
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT ps.name, cs.name, count(*) FROM spans c"
                " JOIN spans p ON p.trace_id = c.trace_id AND p.span_id = c.parent_id"
                " JOIN services ps ON ps.id = p.service_id"
                " JOIN services cs ON cs.id = c.service_id"
                " WHERE c.id >= ? AND c.start_us BETWEEN ? AND ? AND c.parent_id != x''"
                " AND p.service_id != c.service_id GROUP BY 1, 2 ORDER BY 1, 2",
                (self._first_id_since(conn, since_us), since_us, until_us),
            ).fetchall()
        return [(parent, child, int(count)) for parent, child, count in rows]

    @staticmethod
    def _first_id_since(conn: sqlite3.Connection, since_us: int) -> int:
        """The first span row id that may have started at or after `since_us`: a span is
        committed after it starts, so rows committed before that time (less slack) cannot."""
        row = conn.execute(
            "SELECT max(last_span_id) FROM commits WHERE committed_us < ?",
            (since_us - _CLOCK_SLACK_US,),
        ).fetchone()
        return 0 if row is None or row[0] is None else int(row[0]) + 1


def _first_traces(
    execute: Callable[[], sqlite3.Cursor], span_filter: SpanFilter, limit: int
) -> TraceSearch:
    # Row by row, never fetchmany: SQLite would have to find a whole page of matches first,
    # which for a selective filter means scanning far past the `limit` traces needed.
    found: dict[bytes, None] = {}
    cursor: sqlite3.Cursor | None = None
    try:
        cursor = execute()
        for row in cursor:
            trace_id = row[0]
            if trace_id in found:
                continue
            if span_filter.needs_body and not span_filter.matches(row[1], row[2], row[3]):
                continue
            found[trace_id] = None
            if len(found) >= limit:
                break
    except sqlite3.OperationalError as exc:
        if "interrupted" not in str(exc):
            raise
        return TraceSearch(list(found), complete=False)  # the budget ran out: what was found
    finally:
        if cursor is not None:
            cursor.close()
    return TraceSearch(list(found))
