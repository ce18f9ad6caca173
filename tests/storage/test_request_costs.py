"""What a request costs the database: statements (each one a SQL span under the request), round
trips to PostgreSQL, hops to SQLite's connection thread, and connections opened under load."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.models import Message, PageRequest, Principal, Topic
from onehub.services.bundle import Services, build_services
from onehub.storage.engine import create_engine
from onehub.storage.migrate import migrate
from onehub.storage.uow import sql_uow_factory

from .postgres_wire import RoundTripCounter, counting_proxy

ADMIN = Principal("admin")
CONCURRENCY = 16


class Costs:
    """What the database did while a `measure()` block ran."""

    def __init__(self, engine: AsyncEngine, wire: RoundTripCounter | None) -> None:
        self.statements: list[str] = []
        self.sqlite_hops = 0
        self.connects = 0
        self._wire = wire
        event.listen(engine.sync_engine, "before_cursor_execute", self._note)
        event.listen(engine.sync_engine.pool, "connect", self._connected)

    @property
    def round_trips(self) -> int:
        assert self._wire is not None
        return self._wire.round_trips

    def reset(self) -> None:
        self.statements.clear()
        self.sqlite_hops = self.connects = 0
        if self._wire is not None:
            self._wire.reset()

    def _note(self, _conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        self.statements.append(statement.split()[0].upper())

    def _connected(self, *_args: object) -> None:
        self.connects += 1


@contextmanager
def counting_sqlite_hops(costs: Costs, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Every call aiosqlite makes on a connection's thread goes through Connection._execute.
    hop: Callable[..., Any] = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
        costs.sqlite_hops += 1
        return await hop(self, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield


@asynccontextmanager
async def measured_engine(
    database_url: str,
) -> AsyncIterator[tuple[AsyncEngine, RoundTripCounter | None]]:
    async with AsyncExitStack() as stack:
        wire = None
        if not database_url.startswith("sqlite"):
            database_url, wire = await stack.enter_async_context(counting_proxy(database_url))
        engine = create_engine(database_url)
        stack.push_async_callback(engine.dispose)
        await migrate(engine)
        yield engine, wire


@pytest.fixture
async def measured(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[str, Services, Costs]]:
    async with measured_engine(database_url) as (engine, wire):
        costs = Costs(engine, wire)
        services = build_services(sql_uow_factory(engine))
        await services.topics.create_topic(ADMIN, Topic(id="t1", creator_id="", name="General"))
        with counting_sqlite_hops(costs, monkeypatch):
            yield engine.dialect.name, services, costs


async def _post(services: Services, text: str) -> Sequence[Message]:
    draft = Message(
        id="", creator_id="", topic_id="t1", content_type="text/plain", content_text=text
    )
    return await services.messages.create_messages(ADMIN, "t1", [draft])


async def test_get_topic_is_one_statement_one_round_trip(
    measured: tuple[str, Services, Costs],
) -> None:
    backend, services, costs = measured
    await services.topics.get_topic(ADMIN, "t1")  # warm: a pooled connection, a prepared plan
    costs.reset()
    topic = await services.topics.get_topic(ADMIN, "t1")
    assert topic.name == "General"
    assert costs.statements == ["SELECT"]
    if backend == "sqlite":
        assert costs.sqlite_hops == 1  # no BEGIN, no ROLLBACK, one hop for the whole cursor
    else:
        assert costs.round_trips == 1  # autocommit: no BEGIN ... ROLLBACK around it
    assert costs.connects == 0


async def test_post_message_reads_the_topic_then_writes_in_one_transaction(
    measured: tuple[str, Services, Costs],
) -> None:
    backend, services, costs = measured
    await _post(services, "warm")
    costs.reset()
    [posted] = await _post(services, "hello")
    # No savepoint: the insert opens the transaction, which it rolls back if it fails.
    assert costs.statements == ["SELECT", "INSERT"]
    if backend == "sqlite":
        assert costs.sqlite_hops == 3  # SELECT; BEGIN IMMEDIATE with the INSERT; COMMIT
    else:
        assert costs.round_trips == 4  # SELECT; BEGIN; INSERT; COMMIT
    listed = await services.messages.list_messages(ADMIN, "t1", PageRequest(page_size=10))
    assert [m.content_text for m in listed.items] == ["warm", "hello"]
    assert posted.id in {m.id for m in listed.items}


async def test_a_page_and_its_total_come_from_one_snapshot(
    measured: tuple[str, Services, Costs],
) -> None:
    backend, services, costs = measured
    await services.topics.list_topics(ADMIN, PageRequest(page_size=10))
    costs.reset()
    page = await services.topics.list_topics(ADMIN, PageRequest(page_size=10))
    assert (len(page.items), page.total) == (1, 1)
    assert costs.statements == ["SELECT", "SELECT"]
    if backend == "sqlite":
        assert costs.sqlite_hops == 3  # BEGIN with the page; the count; COMMIT
    else:
        assert costs.round_trips == 4  # BEGIN ... READ ONLY; page; count; COMMIT


async def test_steady_concurrent_reads_reuse_pooled_connections(
    measured: tuple[str, Services, Costs],
) -> None:
    _, services, costs = measured

    async def reader() -> None:
        for _ in range(20):
            await services.topics.get_topic(ADMIN, "t1")
            await asyncio.sleep(0)

    await asyncio.gather(*(reader() for _ in range(CONCURRENCY)))  # the pool fills
    costs.reset()
    await asyncio.gather(*(reader() for _ in range(CONCURRENCY)))
    assert costs.connects == 0, f"{costs.connects} connections opened for {CONCURRENCY * 20} reads"
