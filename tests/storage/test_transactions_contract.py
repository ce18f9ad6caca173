"""Unit-of-work contract: commit, rollback, isolation and concurrent writers. Every backend."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event as sqlalchemy_event
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.errors import Aborted, AlreadyExists
from onehub.domain.models import PageRequest, User
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.storage.uow import sql_uow_factory

from .helpers import message, seed, topic


async def test_changes_are_invisible_until_commit(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as writer:
        await writer.users.add(User("u1", "Ann"))
        assert await writer.users.get("u1") is not None  # its own write
        async with uow_factory() as reader:
            assert await reader.users.get("u1") is None
            assert (await reader.users.list(PageRequest(page_size=5))).total == 0
        await writer.commit()
    async with uow_factory() as reader:
        assert await reader.users.get("u1") is not None


async def test_leaving_without_commit_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("keep", "K")], topics=[topic("t1")])
    async with uow_factory() as uow:
        await uow.users.add(User("u1", "Ann"))
        await uow.users.delete("keep")
        await uow.topics.update(topic("t1", "renamed"), expected_version=1)
        await uow.messages.add_many([message("m1", "t1")])
    async with uow_factory() as uow:
        assert await uow.users.get("u1") is None
        assert await uow.users.get("keep") is not None
        stored = await uow.topics.get("t1")
        assert stored is not None
        assert stored.name == "t1"
        assert await uow.messages.get("m1") is None


async def test_an_exception_rolls_back(uow_factory: UnitOfWorkFactory) -> None:
    async def add_then_fail() -> None:
        async with uow_factory() as uow:
            await uow.users.add(User("u1", "Ann"))
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await add_then_fail()
    async with uow_factory() as uow:
        assert await uow.users.get("u1") is None


async def test_writes_after_a_commit_need_their_own(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        await uow.users.add(User("u1", "Ann"))
        await uow.commit()
        await uow.users.add(User("u2", "Bob"))
    async with uow_factory() as uow:
        assert sorted(await uow.users.get_many(["u1", "u2"])) == ["u1"]


async def test_concurrent_writers_to_one_topic_lose_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])

    async def writer(name: str) -> None:
        for batch in range(10):
            async with uow_factory() as uow:
                # Read first, as a service does, then write.
                assert await uow.topics.get("t1") is not None
                await uow.messages.add_many(
                    [message(f"{name}-{batch}-{i}", "t1", f"from {name}") for i in range(3)]
                )
                await asyncio.sleep(0)
                await uow.commit()

    await asyncio.gather(writer("a"), writer("b"))
    async with uow_factory() as uow:
        page = await uow.messages.list_in_topic("t1", PageRequest(page_size=100))
    assert page.total == 60
    assert {m.id for m in page.items} == {
        f"{w}-{b}-{i}" for w in "ab" for b in range(10) for i in range(3)
    }


async def test_two_updates_from_one_version_exactly_one_wins(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, users=[User("u1", "original")])
    both_read = asyncio.Barrier(2)

    async def rename(name: str) -> str:
        async with uow_factory() as uow:
            current = await uow.users.get("u1")
            assert current is not None
            await both_read.wait()
            await uow.users.update(User("u1", name), expected_version=current.version)
            await asyncio.sleep(0.05)  # hold the write open while the other one tries
            await uow.commit()
            return name

    results = await asyncio.gather(rename("left"), rename("right"), return_exceptions=True)
    winners = [r for r in results if isinstance(r, str)]
    losers = [r for r in results if isinstance(r, Aborted)]
    assert len(winners) == 1, results
    assert len(losers) == 1, results
    async with uow_factory() as uow:
        stored = await uow.users.get("u1")
    assert stored is not None
    assert (stored.name, stored.version) == (winners[0], 2)


async def test_a_writer_waiting_too_long_for_the_lock_is_aborted() -> None:
    # The memory store's stand-in for SQLite's busy timeout, shortened for the test.
    factory = memory_uow_factory(InMemoryDatabase(lock_timeout=0.05))
    async with factory() as holder:
        await holder.users.add(User("u1", "Ann"))
        async with factory() as waiter:
            with pytest.raises(Aborted, match="busy"):
                await waiter.users.add(User("u2", "Bob"))
            # Reads never wait for the writer.
            assert await waiter.users.get("u1") is None


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_sqlite_writer_kept_waiting_past_the_busy_timeout_is_aborted(
    sql_engine: AsyncEngine,
) -> None:
    factory = sql_uow_factory(sql_engine)
    async with factory() as holder:
        await holder.users.add(User("u1", "Ann"))
        async with factory() as waiter:
            with pytest.raises(Aborted, match="busy"):
                await waiter.users.add(User("u2", "Bob"))
            assert await waiter.users.get("u1") is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_writers_of_one_engine_get_the_write_lock_in_arrival_order(
    sql_engine: AsyncEngine,
) -> None:
    # SQLite's own busy handler is not fair (it polls with growing sleeps); writers of one
    # engine queue instead, so under contention each waits its turn rather than some waiting
    # for seconds.
    factory = sql_uow_factory(sql_engine)
    granted: list[int] = []
    go = [asyncio.Event() for _ in range(8)]
    opened = asyncio.Semaphore(0)

    async def writer(n: int) -> None:
        # Open the unit of work (a pooled connection, real I/O) before the race, so that only
        # the order of their first writes decides who queues first.
        async with factory() as uow:
            opened.release()
            await go[n].wait()
            await uow.users.add(User(f"u{n}", f"user {n}"))
            granted.append(n)
            await asyncio.sleep(0.02)  # hold the write lock while the others queue
            await uow.commit()

    tasks = [asyncio.create_task(writer(n)) for n in range(8)]
    for _ in range(8):
        await opened.acquire()
    for event in go:
        event.set()
        await asyncio.sleep(0.005)  # let this writer reach the lock before the next starts
    await asyncio.gather(*tasks)
    assert granted == list(range(8))
    async with factory() as uow:
        assert len((await uow.users.list(PageRequest(page_size=100))).items) == 8


async def test_a_later_write_opens_one_savepoint_and_releases_it(sql_engine: AsyncEngine) -> None:
    statements: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement.split()[0].upper())

    uow_factory = sql_uow_factory(sql_engine)
    await seed(uow_factory, topics=[topic("t1")])
    sqlalchemy_event.listen(sql_engine.sync_engine, "before_cursor_execute", note)
    try:
        async with uow_factory() as uow:
            await uow.users.add(User("u1", "Ann"))  # opens the transaction: no savepoint
            await uow.messages.add_many([message("m1", "t1")])
            await uow.commit()
    finally:
        sqlalchemy_event.remove(sql_engine.sync_engine, "before_cursor_execute", note)
    assert statements == ["INSERT", "SAVEPOINT", "INSERT", "RELEASE"], statements


async def test_a_refused_write_keeps_the_earlier_writes(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")], messages=[message("taken", "t1")])
    async with uow_factory() as uow:
        await uow.users.add(User("u1", "Ann"))
        with pytest.raises(AlreadyExists, match="taken"):
            await uow.messages.add_many([message("new", "t1"), message("taken", "t1")])
        await uow.topics.add(topic("t2"))
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get("u1") is not None
        assert await uow.topics.get("t2") is not None
        assert await uow.messages.get("new") is None


async def test_a_refused_first_write_leaves_the_unit_writable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists, match="u1"):
            await uow.users.add(User("u1", "Again"))
        await uow.users.add(User("u2", "Bob"))
        await uow.commit()
    async with uow_factory() as uow:
        assert [u.id for u in (await uow.users.list(PageRequest(page_size=5))).items] == [
            "u1",
            "u2",
        ]
