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
from opentelemetry.semconv.attributes import db_attributes, error_attributes
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.telemetry.compat.sqlalchemy_instrumentation import engine_tracer
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

_instrumented: weakref.WeakSet[Engine] = weakref.WeakSet()


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
        # Contrib's tracer, naming SQLite spans after the file rather than its path, with the
        # stable database conventions (db.query.text, db.system.name) unless the user chose a
        # mode (e.g. database/dup) themselves.
        engine_tracer(tracer, engine, connections)
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
