"""A topic's message count: exact through inserts, moves, deletes and topic deletion, and on
PostgreSQL kept without making concurrent writers to one topic wait for one another."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onehub.domain.models import PageRequest
from onehub.storage.uow import sql_uow_factory

from .helpers import message, seed, topic

# The stripes of migration 0005 (pg_backend_pid() % 16).
SLOTS = 16
WAIT_S = 5.0


async def _total(engine: AsyncEngine, topic_id: str) -> int:
    async with sql_uow_factory(engine)() as uow:
        return (await uow.messages.list_in_topic(topic_id, PageRequest(page_size=1))).total


async def _count_rows(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT topic_id, sum(n) FROM topic_message_counts GROUP BY topic_id")
        )
        return {topic_id: int(n) for topic_id, n in rows}


async def test_the_count_follows_inserts_moves_deletes_and_topic_deletion(
    sql_engine: AsyncEngine,
) -> None:
    factory = sql_uow_factory(sql_engine)
    await seed(factory, topics=[topic("t1"), topic("t2"), topic("t3")])
    await seed(factory, messages=[message(f"m{i}", "t1") for i in range(5)])
    await seed(factory, messages=[message("x1", "t3")])
    async with factory() as uow:
        for message_id in ("m0", "m1"):
            moved = await uow.messages.get(message_id)
            assert moved is not None
            await uow.messages.update(dataclasses.replace(moved, topic_id="t2"), moved.version)
        assert await uow.messages.delete("m4")
        await uow.commit()
    assert [await _total(sql_engine, t) for t in ("t1", "t2", "t3")] == [2, 2, 1]

    async with factory() as uow:
        assert await uow.topics.delete("t2")
        await uow.commit()
    assert await _count_rows(sql_engine) == {"t1": 2, "t3": 1}
    assert await _total(sql_engine, "t2") == 0


async def test_a_rolled_back_insert_leaves_the_count(sql_engine: AsyncEngine) -> None:
    factory = sql_uow_factory(sql_engine)
    await seed(factory, topics=[topic("t1")], messages=[message("m1", "t1")])
    async with factory() as uow:
        await uow.messages.add_many([message("m2", "t1"), message("m3", "t1")])
        # no commit: rolled back
    assert await _total(sql_engine, "t1") == 1


async def _connections_in_two_slots(
    engine: AsyncEngine,
) -> tuple[AsyncConnection, AsyncConnection, list[AsyncConnection]]:
    """Two connections whose server processes add to different stripes, and any others opened
    on the way (to close)."""
    opened: list[AsyncConnection] = []
    slots: dict[int, AsyncConnection] = {}
    while len(slots) < 2:
        connection = await engine.connect()
        opened.append(connection)
        pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        slots.setdefault(int(pid) % SLOTS, connection)
    first, second = slots.values()
    return first, second, [c for c in opened if c is not first and c is not second]


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_writers_to_one_topic_do_not_wait_for_each_other(sql_engine: AsyncEngine) -> None:
    await seed(sql_uow_factory(sql_engine), topics=[topic("busy")])
    insert = text(
        "INSERT INTO messages (id, topic_id, creator_id, content_type, content_text,"
        " parent_message_id, created_at, updated_at, version)"
        " VALUES (:id, 'busy', 'admin', 'text/plain', 'hi', '', now(), now(), 1)"
    )
    first, second, spare = await _connections_in_two_slots(sql_engine)
    try:
        for extra in spare:
            await extra.close()
        await first.execute(insert, {"id": "held"})  # its transaction stays open
        # Before the counts were striped, this waited on the topic row until `first` ended.
        await asyncio.wait_for(second.execute(insert, {"id": "through"}), WAIT_S)
        await asyncio.wait_for(second.commit(), WAIT_S)
        assert await _total(sql_engine, "busy") == 1
        await first.commit()
    finally:
        await first.close()
        await second.close()
    assert await _total(sql_engine, "busy") == 2
    assert await _count_rows(sql_engine) == {"busy": 2}
