"""A phrase search pages exactly as sorting every match would, whichever way it finds the page.

PostgreSQL finds a (created_at, id) page by sorting every match when there are few, by walking
the newest messages, or window by window (`storage/pg_search.py`); SQLite walks its full-text
index (`storage/sql_search.py`). With the limits shrunk so that a small corpus takes each way,
every page, cursor and total must equal the plain query's (the same store with its fast paths
turned off) and the pages must hold exactly the matches, in order.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onehub.domain.models import Message, MessageQuery, Page, PageRequest
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage import memory, pg_search, sql_messages
from onehub.storage.text_search import SEARCH_TOTAL_LIMIT

from .helpers import message, seed, topic, walk_pages

T0 = datetime(2026, 4, 1, tzinfo=UTC)


def _at(message_id: str, topic_id: str, when: datetime, text: str, creator: str) -> Message:
    return replace(message(message_id, topic_id, text, creator=creator), created_at=when)


def _batches() -> list[list[Message]]:
    """Stored batch by batch: a minute of chat, a backdated import dense with the word, a tie
    at one instant stored with its ids descending, then newer messages that rarely match."""
    chat = [
        _at(
            f"a{i:03d}",
            "t1" if i % 2 else "t2",
            T0 + timedelta(seconds=i),
            "word here" if i % 7 == 0 else "filler",
            "ann" if i % 3 else "bob",
        )
        for i in range(60)
    ]
    backdated = [
        _at(
            f"b{i:02d}",
            "t2" if i % 4 else "t1",
            T0 - timedelta(days=1) + timedelta(minutes=10 * i),
            "the word again" if i % 2 == 0 else "nothing",
            "bob",
        )
        for i in range(20)
    ]
    tie = [_at(f"c{i}", "t1", T0 + timedelta(seconds=30), "word tied", "ann") for i in (5, 3, 1, 4)]
    newer = [
        _at(
            f"d{i:02d}",
            "t1",
            T0 + timedelta(hours=2, seconds=i),
            "late word" if i in (5, 29) else "late",
            "ann" if i % 2 else "bob",
        )
        for i in range(30)
    ]
    return [chat, backdated, tie, newer]


QUERIES = [
    MessageQuery("word"),
    MessageQuery("word", topic_id="t1"),
    MessageQuery("word", sender_id="bob"),
    MessageQuery("word", topic_id="t2", sender_id="bob"),
    MessageQuery("word", order_by=["created_at"]),
    MessageQuery("late word", order_by=["-created_at", "-id"]),
    MessageQuery("nowhere"),
]
PAGE_SIZES = [1, 4, 25]

# Limits that send the corpus's searches down each path on PostgreSQL: few matches are sorted;
# past the total's limit the newest messages are walked, then windows are searched.
PATHS: dict[str, dict[str, int]] = {
    "sorted": {},
    "walk": {"total_limit": 3},
    "windows": {"WALK_ROWS_PER_RESULT": 1, "MAX_WALK_ROWS": 2, "total_limit": 3},
    "dense windows": {
        "WALK_ROWS_PER_RESULT": 1,
        "MAX_WALK_ROWS": 3,
        "WINDOW_MATCHES": 2,
        "total_limit": 5,
    },
}


def _expected(query: MessageQuery) -> list[str]:
    words = query.phrase.split()
    wanted = [
        m
        for batch in _batches()
        for m in batch
        if all(word in m.content_text.split() for word in words)
        and (not query.topic_id or m.topic_id == query.topic_id)
        and (not query.sender_id or m.creator_id == query.sender_id)
    ]
    newest_first = not query.order_by or query.order_by[0].startswith("-")
    ordered = sorted(wanted, key=lambda m: (m.created_at or T0, m.id), reverse=newest_first)
    return [m.id for m in ordered]


def _shape(pages: list[Page[Message]]) -> list[tuple[list[str], str, bool, int]]:
    return [([m.id for m in p.items], p.next_page_key, p.has_more, p.total) for p in pages]


async def _pages(factory: UnitOfWorkFactory, query: MessageQuery, size: int) -> list[Page[Message]]:
    async with factory() as uow:
        return await walk_pages(lambda p: uow.messages.search(query, p), size)


@pytest.mark.parametrize("path", PATHS)
async def test_every_path_pages_like_the_plain_query(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    limits = dict(PATHS[path])
    total_limit = limits.pop("total_limit", SEARCH_TOTAL_LIMIT)
    for name, value in limits.items():
        monkeypatch.setattr(pg_search, name, value)
    monkeypatch.setattr(sql_messages, "SEARCH_TOTAL_LIMIT", total_limit)
    monkeypatch.setattr(memory, "SEARCH_TOTAL_LIMIT", total_limit)
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    for batch in _batches():
        await seed(uow_factory, messages=batch)

    found = {
        (i, size): await _pages(uow_factory, q, size)
        for i, q in enumerate(QUERIES)
        for size in PAGE_SIZES
    }
    monkeypatch.setattr(sql_messages, "walks_in_windows", lambda dialect, order: False)
    monkeypatch.setattr(sql_messages, "walks_the_index", lambda dialect, order: False)
    for (i, size), pages in found.items():
        query = QUERIES[i]
        expected = _expected(query)
        assert [m.id for p in pages for m in p.items] == expected, (query, size)
        assert {p.total for p in pages} == {min(len(expected), total_limit)}, (query, size)
        plain = await _pages(uow_factory, query, size)
        assert _shape(pages) == _shape(plain), (query, size)


async def test_a_cursor_resumes_after_its_message_was_backdated_away(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Past three matches the walk reads two messages: the second page comes from the windows.
    monkeypatch.setattr(pg_search, "WALK_ROWS_PER_RESULT", 1)
    monkeypatch.setattr(pg_search, "MAX_WALK_ROWS", 2)
    monkeypatch.setattr(sql_messages, "SEARCH_TOTAL_LIMIT", 3)
    monkeypatch.setattr(memory, "SEARCH_TOTAL_LIMIT", 3)
    await seed(uow_factory, topics=[topic("t1")])
    stored = [
        _at(f"m{i}", "t1", T0 + timedelta(minutes=i), "word" if i % 3 else "other", "ann")
        for i in range(12)
    ]
    await seed(uow_factory, messages=stored)
    async with uow_factory() as uow:
        first = await uow.messages.search(MessageQuery("word"), PageRequest(page_size=3))
        moved = replace(first.items[-1], created_at=T0 - timedelta(days=1))
        await uow.messages.delete(moved.id)
        await uow.messages.add_many([moved])
        await uow.commit()
    async with uow_factory() as uow:
        rest = await uow.messages.search(
            MessageQuery("word"), PageRequest(first.next_page_key, page_size=100)
        )
    assert [m.id for m in first.items] == ["m11", "m10", "m8"]
    assert [m.id for m in rest.items] == ["m7", "m5", "m4", "m2", "m1", "m8"]
    assert (rest.has_more, rest.total) == (False, 3)


@pytest.mark.parametrize("order_by", [[], ["created_at"]])
async def test_windows_reach_messages_dated_at_the_ends_of_time(
    uow_factory: UnitOfWorkFactory, monkeypatch: pytest.MonkeyPatch, order_by: list[str]
) -> None:
    # Windows grow tenfold from a span of milliseconds until they pass the oldest (or newest)
    # message: here years 1 and 9999, which a window's far end must never step past.
    monkeypatch.setattr(pg_search, "WALK_ROWS_PER_RESULT", 1)
    monkeypatch.setattr(pg_search, "MAX_WALK_ROWS", 2)
    monkeypatch.setattr(sql_messages, "SEARCH_TOTAL_LIMIT", 2)
    monkeypatch.setattr(memory, "SEARCH_TOTAL_LIMIT", 2)
    await seed(uow_factory, topics=[topic("t1")])
    ancient = datetime(1, 1, 2, tzinfo=UTC)
    future = datetime(9999, 12, 30, tzinfo=UTC)
    stored = [
        _at("first", "t1", ancient, "word", "ann"),
        *(_at(f"m{i}", "t1", T0 + timedelta(milliseconds=i), "filler", "ann") for i in range(6)),
        _at("middle", "t1", T0 + timedelta(seconds=1), "word", "ann"),
        _at("last", "t1", future, "word", "ann"),
        _at("after", "t1", future + timedelta(hours=1), "filler", "ann"),
    ]
    await seed(uow_factory, messages=stored)
    pages = await _pages(uow_factory, MessageQuery("word", order_by=order_by), 1)
    found = [m.id for p in pages for m in p.items]
    expected = ["first", "middle", "last"] if order_by else ["last", "middle", "first"]
    assert found == expected
