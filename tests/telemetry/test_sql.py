"""SQL statement spans and durations on real SQLite and PostgreSQL engines."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from onehub.telemetry import instrument_sqlalchemy
from onehub.telemetry.testing import InMemoryTelemetry

POSTGRES_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
async def engine(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{tmp_path}/t.db" if request.param == "sqlite" else POSTGRES_URL
    engine = create_async_engine(url)
    yield engine
    await engine.dispose()


async def test_statements_are_client_spans_under_the_current_span(
    engine: AsyncEngine, memory: InMemoryTelemetry
) -> None:
    instrument_sqlalchemy([engine])
    instrument_sqlalchemy([engine])  # a second call must not double the spans

    with trace.get_tracer("test").start_as_current_span("db.GetUser") as parent:
        async with engine.connect() as connection:
            result = await connection.execute(text("SELECT :secret AS x"), {"secret": "hunter2"})
            assert result.scalar() == "hunter2"

    system = engine.dialect.name
    statements = [span for span in memory.spans() if span.kind is SpanKind.CLIENT]
    [select] = [span for span in statements if span.name.startswith("SELECT")]
    assert select.parent is not None
    assert select.parent.span_id == parent.get_span_context().span_id
    attributes = dict(select.attributes or {})
    assert attributes["db.system.name"] == system
    query = str(attributes["db.query.text"])
    assert query.startswith("SELECT")
    assert "hunter2" not in query
    assert "hunter2" not in str([dict(span.attributes or {}) for span in memory.spans()])


async def test_operation_durations_by_system_and_operation(
    engine: AsyncEngine, memory: InMemoryTelemetry
) -> None:
    instrument_sqlalchemy([engine])
    async with engine.connect() as connection:
        for _ in range(3):
            await connection.execute(text("SELECT 1"))
        with pytest.raises((OperationalError, ProgrammingError)):
            await connection.execute(text("SELECT * FROM no_such_table"))

    metric = memory.metrics()["db.client.operation.duration"]
    assert metric.unit == "s"
    points = [p for p in metric.data.data_points if isinstance(p, HistogramDataPoint)]
    by_attributes = {tuple(sorted(dict(p.attributes or {}).items())): p for p in points}
    system = engine.dialect.name
    ok = by_attributes[(("db.operation.name", "SELECT"), ("db.system.name", system))]
    assert ok.count >= 3  # the dialect may add its own SELECTs on first connect
    assert ok.explicit_bounds[:2] == (0.001, 0.005)
    failed = [p for p in points if dict(p.attributes or {}).get("error.type")]
    assert [p.count for p in failed] == [1]


async def test_a_failed_statement_is_an_error_span(
    engine: AsyncEngine, memory: InMemoryTelemetry
) -> None:
    instrument_sqlalchemy([engine])
    async with engine.connect() as connection:
        with pytest.raises((OperationalError, ProgrammingError)):
            await connection.execute(text("SELECT * FROM no_such_table"))

    [failed] = [span for span in memory.spans() if span.status.status_code is StatusCode.ERROR]
    assert failed.kind is SpanKind.CLIENT
