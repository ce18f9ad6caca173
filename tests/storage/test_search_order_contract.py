"""Newest-first search pages are exact whatever order the messages were stored in.

SQLite walks its full-text index by rowid and merges in the messages stored out of time order
(`storage/sql_search.py`); every backend must page the same as sorting every match would.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.models import Message, MessageQuery, PageRequest
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage import sql_search
from onehub.storage.uow import sql_uow_factory

from .helpers import message, seed, topic, walk_pages

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _at(message_id: str, topic_id: str, minute: int, words: str = "word") -> Message:
    return replace(message(message_id, topic_id, words), created_at=T0 + timedelta(minutes=minute))


# Stored batch by batch: in time order, then backdated ones, then a tie at one instant stored
# with its ids descending, then newer ones again, one of them without the word.
BATCHES = [
    [_at(f"a{i}", "t1" if i % 2 else "t2", 10 + i) for i in range(8)],
    [_at("b0", "t1", 12), _at("b1", "t2", 3), _at("b2", "t1", 15)],
    [_at(f"c{i}", "t1", 20) for i in (9, 5, 7, 1)],
    [_at("d0", "t2", 30), _at("d1", "t1", 31, "other"), _at("d2", "t1", 32)],
    [_at("e0", "t1", 1)],
]
STORED = [m for batch in BATCHES for m in batch]


def _expected(topic_id: str = "") -> list[str]:
    wanted = [
        m for m in STORED if "word" in m.content_text and (not topic_id or m.topic_id == topic_id)
    ]
    newest = sorted(wanted, key=lambda m: (m.created_at or T0, m.id), reverse=True)
    return [m.id for m in newest]


async def _stored(factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    await seed(factory, topics=[topic("t1"), topic("t2")])
    for batch in BATCHES:
        await seed(factory, messages=batch)
    return factory


async def _ids(factory: UnitOfWorkFactory, query: MessageQuery, size: int) -> list[str]:
    async with factory() as uow:
        pages = await walk_pages(lambda p: uow.messages.search(query, p), size)
    return [m.id for p in pages for m in p.items]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
async def test_newest_first_pages_follow_created_at_then_id(
    uow_factory: UnitOfWorkFactory, size: int
) -> None:
    factory = await _stored(uow_factory)
    assert await _ids(factory, MessageQuery("word"), size) == _expected()
    assert await _ids(factory, MessageQuery("word", topic_id="t1"), size) == _expected("t1")
    explicit = MessageQuery("word", order_by=["-created_at", "-id"])
    assert await _ids(factory, explicit, size) == _expected()


async def test_a_page_resumes_after_its_last_message_was_deleted(
    uow_factory: UnitOfWorkFactory,
) -> None:
    factory = await _stored(uow_factory)
    async with factory() as uow:
        first = await uow.messages.search(MessageQuery("word"), PageRequest(page_size=4))
    assert [m.id for m in first.items] == _expected()[:4]
    async with factory() as uow:
        assert await uow.messages.delete(first.items[-1].id)
        await uow.commit()
    async with factory() as uow:
        rest = await uow.messages.search(
            MessageQuery("word"), PageRequest(first.next_page_key, page_size=100)
        )
    assert [m.id for m in rest.items] == _expected()[4:]


async def test_with_many_messages_out_of_order_the_pages_stay_exact(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past the limit SQLite sorts every match instead of walking the index.
    monkeypatch.setattr(sql_search, "MAX_OUT_OF_ORDER", 2)
    factory = await _stored(uow_factory)
    assert await _ids(factory, MessageQuery("word"), 3) == _expected()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_tracks_exactly_the_messages_stored_out_of_order(
    sql_engine: AsyncEngine,
) -> None:
    await _stored(sql_uow_factory(sql_engine))
    async with sql_engine.connect() as connection:
        rows = await connection.execute(
            text(
                "SELECT m.id FROM messages_fts_out_of_order o"
                " JOIN messages m ON m.seq = o.seq ORDER BY m.id"
            )
        )
        tracked = list(rows.scalars())
    # b0, b1 and b2 predate a7; c9 is first of its instant, but c5, c7 and c1 sort before
    # it; e0 predates everything.
    assert tracked == ["b0", "b1", "b2", "c1", "c5", "c7", "e0"]
