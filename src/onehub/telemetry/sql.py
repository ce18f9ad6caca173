"""SQL statement spans (opentelemetry-instrumentation-sqlalchemy) and operation durations.

We attach the contrib package's `EngineTracer` to each engine we are given rather than calling
`SQLAlchemyInstrumentor().instrument()`: the instrumentor is a process-wide singleton that patches
`create_engine` for every engine made afterwards and refuses a second call, while a test process
builds many engines. Statement spans are CLIENT children of the current span; `db.query.text` is
the statement as SQLAlchemy sends it, with bound parameters as placeholders (`?`, `$1`), never
their values. Alongside, `db.client.operation.duration` (seconds) is recorded per statement with
`db.system.name` and `db.operation.name` (the statement's first keyword, e.g. `SELECT`).
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Mapping, Sequence
from typing import Any, Final

from opentelemetry import metrics, trace
from opentelemetry.instrumentation._semconv import (
    _set_db_operation,
    _set_db_statement,
    _set_db_system,
    _StabilityMode,
)
from opentelemetry.instrumentation.sqlalchemy.engine import (
    EngineTracer,
    _get_attributes_from_cursor_or_conn,
    _get_attributes_from_url,
    _get_db_name_from_cursor_or_conn,
)
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.semconv.attributes import db_attributes, error_attributes
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.telemetry.metrics import DB_CLIENT_OPERATION_DURATION, DB_DURATION_BUCKETS

SCOPE: Final = "onehub.telemetry.sql"
DB_SYSTEM_NAME: Final = db_attributes.DB_SYSTEM_NAME
DB_OPERATION_NAME: Final = db_attributes.DB_OPERATION_NAME
ERROR_TYPE: Final = error_attributes.ERROR_TYPE
_STARTED: Final = "_onehub_started"
_SYSTEMS: Final = {"postgresql": "postgresql", "sqlite": "sqlite", "mysql": "mysql"}
# A bounded set keeps the metric's cardinality bounded whatever SQL someone sends.
_OPERATIONS: Final = frozenset(
    {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "MERGE", "CREATE", "ALTER", "DROP", "PRAGMA"}
    | {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "SHOW", "TRUNCATE"}
)

_POOL_EVENTS: Final = frozenset({"connect", "close", "checkin", "checkout"})

_instrumented: weakref.WeakSet[Engine] = weakref.WeakSet()


class _EngineTracer(EngineTracer):
    """Contrib's tracer, but naming SQLite statement spans after the database file's name
    (`SELECT onehub.db`) rather than its full path, which floods span names and leaks paths;
    and doing less per statement for the same span (see `_before_cur_exec`)."""

    @classmethod
    def _register_event_listener(
        cls, target: Any, identifier: str, func: Any, *args: Any, **kw: Any
    ) -> None:
        # The pool listeners only feed db.client.connection.count, which we do not record (it
        # is a no-op counter here): without them, no work at all on checkout and checkin.
        if identifier in _POOL_EVENTS:
            return
        super()._register_event_listener(target, identifier, func, *args, **kw)  # type: ignore[no-untyped-call]  # contrib is unannotated

    def _operation_name(self, db_name: object, statement: object) -> str:
        if isinstance(db_name, str) and "/" in db_name:
            db_name = db_name.rsplit("/", 1)[1]
        name: str = super()._operation_name(db_name, statement)  # type: ignore[no-untyped-call]  # contrib is unannotated
        return name

    def _before_cur_exec(
        self,
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        params: Any,
        context: ExecutionContext,
        executemany: bool,
    ) -> tuple[str, Any]:
        """Contrib's span with contrib's name and attributes, started with its attributes
        rather than made current and then given them one `set_attribute` at a time, and with
        the operation name worked out once. Without sqlcommenter (our case) nothing reads the
        current span in between, so the span is the same; with it, contrib's own path runs."""
        if self.enable_commenter:
            result: tuple[str, Any] = super()._before_cur_exec(  # type: ignore[no-untyped-call]  # contrib is unannotated
                conn, cursor, statement, params, context, executemany
            )
            return result
        if not is_instrumentation_enabled():
            return statement, params
        db_mode, http_mode = self._sem_conv_opt_in_mode_db, self._sem_conv_opt_in_mode_http
        attributes, found = _get_attributes_from_url(conn.engine.url, db_mode, http_mode)  # type: ignore[no-untyped-call]
        if not found:
            attributes = _get_attributes_from_cursor_or_conn(  # type: ignore[no-untyped-call]
                self.vendor, conn, cursor, attributes, db_mode, http_mode
            )
        db_name = _get_db_name_from_cursor_or_conn(self.vendor, conn, cursor)  # type: ignore[no-untyped-call]
        name = self._operation_name(db_name, statement)
        span_attributes = dict(attributes)
        _set_db_statement(span_attributes, statement, db_mode)
        _set_db_system(span_attributes, self.vendor, db_mode)
        _set_db_operation(span_attributes, name, db_mode)
        span = self.tracer.start_span(name, kind=trace.SpanKind.CLIENT, attributes=span_attributes)
        context._otel_span = span  # type: ignore[attr-defined]  # where contrib's after hook looks
        return statement, params


def instrument_sqlalchemy(engines: Sequence[AsyncEngine]) -> None:
    """Trace and time every statement on these engines. Engines already instrumented are left
    as they are, so calling this twice never doubles spans."""
    tracer = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    # Contrib adds to this counter on every pool checkout and checkin (four times a unit of
    # work, 3.3% of a traced request as profiled); the conventions do not require the metric.
    connections = metrics.NoOpUpDownCounter("db.client.connection.count")
    recorder = _DurationRecorder()
    for async_engine in engines:
        engine = async_engine.sync_engine
        if engine in _instrumented:
            continue
        engine_tracer = _EngineTracer(tracer, engine, connections)  # type: ignore[no-untyped-call]  # contrib/SDK leave it unannotated
        # The stable database conventions (db.query.text, db.system.name) are opt-in through a
        # process-wide variable read once by whoever initialises contrib first; ask for them on
        # our engines unless the user chose a mode (e.g. database/dup) themselves.
        if engine_tracer._sem_conv_opt_in_mode_db is _StabilityMode.DEFAULT:
            engine_tracer._sem_conv_opt_in_mode_db = _StabilityMode.DATABASE
        recorder.attach(engine)
        _instrumented.add(engine)


class _DurationRecorder:
    def __init__(self) -> None:
        self._histogram = metrics.get_meter(SCOPE).create_histogram(
            DB_CLIENT_OPERATION_DURATION,
            unit="s",
            description="Duration of database client operations",
            explicit_bucket_boundaries_advisory=DB_DURATION_BUCKETS,
        )
        self._attributes: dict[tuple[str, str, str | None], Mapping[str, str]] = {}

    def attach(self, engine: Engine) -> None:
        system = _SYSTEMS.get(engine.dialect.name, engine.dialect.name)
        event.listen(engine, "before_cursor_execute", self._before)

        def after(
            conn: Connection,
            cursor: DBAPICursor,
            statement: str,
            parameters: Any,
            context: ExecutionContext | None,
            executemany: bool,
        ) -> None:
            self._record(context, system, statement, None)

        def failed(exception_context: ExceptionContext) -> None:
            error = type(exception_context.original_exception).__qualname__
            statement = exception_context.statement or ""
            self._record(exception_context.execution_context, system, statement, error)

        event.listen(engine, "after_cursor_execute", after)
        event.listen(engine, "handle_error", failed)

    @staticmethod
    def _before(
        conn: Connection,
        cursor: DBAPICursor,
        statement: str,
        parameters: Any,
        context: ExecutionContext | None,
        executemany: bool,
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, time.perf_counter())

    def _record(
        self, context: ExecutionContext | None, system: str, statement: str, error: str | None
    ) -> None:
        started = getattr(context, _STARTED, None)
        if started is None:
            return
        setattr(context, _STARTED, None)  # handle_error can follow a failed execute: count once
        first_word = statement.split(None, 1)[0].upper() if statement.strip() else ""
        operation = first_word if first_word in _OPERATIONS else "_OTHER"
        key = (system, operation, error)
        attributes = self._attributes.get(key)
        if attributes is None:
            values = {DB_SYSTEM_NAME: system, DB_OPERATION_NAME: operation}
            if error is not None:
                values[ERROR_TYPE] = error
            attributes = self._attributes[key] = values
        self._histogram.record(time.perf_counter() - started, attributes)
