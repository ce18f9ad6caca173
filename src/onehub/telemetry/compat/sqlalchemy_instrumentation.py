"""The private parts of opentelemetry-instrumentation-sqlalchemy (and of the
opentelemetry-instrumentation package it builds on) that OneHub relies on.

Checked against opentelemetry-instrumentation-sqlalchemy and opentelemetry-instrumentation 0.66b1
with SQLAlchemy 2.0.58 (`CHECKED_AGAINST`), the only versions pyproject.toml allows;
tests/compat/test_sqlalchemy_instrumentation.py fails, naming the installed versions, when any
of these changes shape or the overrides stop being called.

Touched here, and nowhere else (`engine_tracer` is the one way in):
- `EngineTracer`'s private methods, overridden by subclassing: `_register_event_listener`
  (classmethod, `(target, identifier, func, *args, **kw)`), `_operation_name(db_name,
  statement)` and `_before_cur_exec(conn, cursor, statement, params, context, executemany)`,
  which must hand the span to contrib's after/error hooks as `context._otel_span`.
- `EngineTracer`'s fields `_sem_conv_opt_in_mode_db`, `_sem_conv_opt_in_mode_http`, `vendor`,
  `enable_commenter` and `tracer`.
- `opentelemetry.instrumentation.sqlalchemy.engine`'s `_get_attributes_from_url`,
  `_get_attributes_from_cursor_or_conn` and `_get_db_name_from_cursor_or_conn`;
  `opentelemetry.instrumentation._semconv`'s `_set_db_statement`, `_set_db_system`,
  `_set_db_operation` and `_StabilityMode`.

The instrumentation's public way in, `SQLAlchemyInstrumentor().instrument(engine=...)`, is a
process-wide singleton that refuses a second call, while a process (a test run) builds many
engines; and it offers no way to name spans or to skip the pool listeners.
"""

from __future__ import annotations

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
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPICursor, ExecutionContext

CHECKED_AGAINST: Final = {
    "opentelemetry-instrumentation-sqlalchemy": "0.66b1",
    "opentelemetry-instrumentation": "0.66b1",
    "sqlalchemy": "2.0.58",
}
#: Where contrib's after-execute and error hooks find the statement's span.
SPAN_ON_CONTEXT: Final = "_otel_span"
_POOL_EVENTS: Final = frozenset({"connect", "close", "checkin", "checkout"})


def engine_tracer(
    tracer: trace.Tracer, engine: Engine, connections: metrics.UpDownCounter
) -> EngineTracer:
    """Attach contrib's statement tracing to `engine` (see `_EngineTracer` for what differs),
    asking for the stable database conventions (`db.query.text`, `db.system.name`) unless the
    process chose a mode (`OTEL_SEMCONV_STABILITY_OPT_IN`, e.g. database/dup) itself."""
    attached = _EngineTracer(tracer, engine, connections)  # type: ignore[no-untyped-call]  # contrib is unannotated
    # The mode is read from the environment once, by whoever initialises contrib first.
    if attached._sem_conv_opt_in_mode_db is _StabilityMode.DEFAULT:
        attached._sem_conv_opt_in_mode_db = _StabilityMode.DATABASE
    return attached


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
        setattr(context, SPAN_ON_CONTEXT, span)
        return statement, params
