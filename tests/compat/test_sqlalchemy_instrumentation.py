"""Tripwires for opentelemetry-instrumentation-sqlalchemy's private parts
(onehub/telemetry/compat/sqlalchemy_instrumentation.py): the methods we override and the helpers
we call still have their shape, and on a real engine our overrides are the ones that run."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.instrumentation import _semconv
from opentelemetry.instrumentation.sqlalchemy import engine as contrib
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanKind
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from onehub.telemetry import instrument_sqlalchemy
from onehub.telemetry.compat.sqlalchemy_instrumentation import engine_tracer
from onehub.telemetry.config import TelemetryConfig
from onehub.telemetry.setup import setup_telemetry
from onehub.telemetry.testing import in_memory_telemetry

from .tripwire import check, check_parameters, trip

CONTRIB = "opentelemetry-instrumentation-sqlalchemy"
INSTRUMENTATION = "opentelemetry-instrumentation"
COMPAT = "onehub/telemetry/compat/sqlalchemy_instrumentation.py"


def test_the_overridden_methods_and_called_helpers_keep_their_shape() -> None:
    tracer_class = contrib.EngineTracer
    check_parameters(
        tracer_class._register_event_listener,  # a classmethod: bound, so no cls
        ["target", "identifier", "func", "*args", "**kw"],
        CONTRIB,
        COMPAT,
    )
    check_parameters(
        tracer_class._operation_name, ["self", "db_name", "statement"], CONTRIB, COMPAT
    )
    check_parameters(
        tracer_class._before_cur_exec,
        ["self", "conn", "cursor", "statement", "params", "context", "_executemany"],
        CONTRIB,
        COMPAT,
    )
    check_parameters(
        contrib._get_attributes_from_url,
        ["url", "sem_conv_opt_in_mode_db", "sem_conv_opt_in_mode_http"],
        CONTRIB,
        COMPAT,
    )
    check_parameters(
        contrib._get_attributes_from_cursor_or_conn,
        [
            "vendor",
            "conn",
            "cursor",
            "attrs",
            "sem_conv_opt_in_mode_db",
            "sem_conv_opt_in_mode_http",
        ],
        CONTRIB,
        COMPAT,
    )
    check_parameters(
        contrib._get_db_name_from_cursor_or_conn, ["vendor", "conn", "cursor"], CONTRIB, COMPAT
    )
    for setter, value in (
        ("_set_db_statement", "statement"),
        ("_set_db_system", "system"),
        ("_set_db_operation", "operation"),
    ):
        function = getattr(_semconv, setter, None)
        if function is None:
            trip(
                INSTRUMENTATION, COMPAT, f"opentelemetry.instrumentation._semconv.{setter} is gone"
            )
        check_parameters(
            function, ["result", value, "sem_conv_opt_in_mode"], INSTRUMENTATION, COMPAT
        )
    modes = {mode.name for mode in _semconv._StabilityMode}
    check({"DEFAULT", "DATABASE"} <= modes, INSTRUMENTATION, COMPAT, f"_StabilityMode, got {modes}")


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path}/tripwire.db")
    yield engine
    await engine.dispose()


def test_the_tracer_keeps_the_fields_we_read_and_set(engine: AsyncEngine) -> None:
    attached = engine_tracer(
        trace.get_tracer("tripwire"), engine.sync_engine, metrics.NoOpUpDownCounter("c")
    )

    for name in ("_sem_conv_opt_in_mode_db", "_sem_conv_opt_in_mode_http", "vendor", "tracer"):
        check(hasattr(attached, name), CONTRIB, COMPAT, f"EngineTracer to have the field {name}")
    check(attached.enable_commenter is False, CONTRIB, COMPAT, "enable_commenter off by default")
    # Our statement hook is the engine's; the pool hooks (only feeding a no-op counter) are not.
    sync_engine = engine.sync_engine
    check(
        event.contains(sync_engine, "before_cursor_execute", attached._before_cur_exec),
        CONTRIB,
        COMPAT,
        "the overridden _before_cur_exec to be the before_cursor_execute listener",
    )
    for pool_event, hook in (
        ("checkout", attached._pool_checkout),
        ("checkin", attached._pool_checkin),
    ):
        check(
            not event.contains(sync_engine, pool_event, hook),
            CONTRIB,
            COMPAT,
            f"no {pool_event} listener: _register_event_listener must still route every listener",
        )


class StartAttributes(SpanProcessor):
    """Keeps the attributes each span had when it started (what samplers and processors see)."""

    def __init__(self) -> None:
        self.at_start: dict[str, dict[str, object]] = {}

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.at_start[span.name] = dict(span.attributes or {})

    def on_end(self, span: ReadableSpan) -> None:
        pass


async def test_statement_spans_are_made_by_our_override(engine: AsyncEngine) -> None:
    started = StartAttributes()
    config = TelemetryConfig(traces_exporters=(), metrics_exporters=(), logs_exporters=())
    telemetry = setup_telemetry(config, span_processors=[started])
    try:
        instrument_sqlalchemy([engine])
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    finally:
        telemetry.shutdown()

    # Contrib names the span after the whole database path and sets its attributes after start;
    # ours names it after the file and starts it with them.
    statement = started.at_start.get("SELECT tripwire.db")
    check(
        statement is not None,
        CONTRIB,
        COMPAT,
        f"a span named 'SELECT tripwire.db' (_operation_name), got {sorted(started.at_start)}",
    )
    assert statement is not None
    check(
        statement.get("db.query.text") == "SELECT 1"
        and statement.get("db.system.name") == "sqlite",
        CONTRIB,
        COMPAT,
        f"the statement span started with its attributes (_before_cur_exec), got {statement}",
    )


async def test_contribs_after_hook_ends_the_span_we_start(engine: AsyncEngine) -> None:
    memory = in_memory_telemetry()
    try:
        instrument_sqlalchemy([engine])
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 2"))
        ended = [s for s in memory.spans() if s.kind is SpanKind.CLIENT]
    finally:
        memory.shutdown()

    check(
        [s.name for s in ended if s.name.startswith("SELECT")] == ["SELECT tripwire.db"],
        CONTRIB,
        COMPAT,
        f"contrib's after-execute hook to end our span (context._otel_span), ended {ended}",
    )
