"""Keyset paging contract: cursors are opaque and checked; concurrent writes never make a
page skip or repeat a row that existed throughout. Every backend."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import MessageQuery, Page, PageRequest, User
from onehub.services.ports import UnitOfWork, UnitOfWorkFactory

from .helpers import message, seed, topic

Lister = Callable[[UnitOfWork, PageRequest], Awaitable[Page[object]]]

LISTS: dict[str, Lister] = {
    "users": lambda uow, p: uow.users.list(p),  # type: ignore[dict-item]  # Page is invariant
    "topics": lambda uow, p: uow.topics.list(p),  # type: ignore[dict-item]
    "messages": lambda uow, p: uow.messages.list_in_topic("t1", p),  # type: ignore[dict-item]
    "search": lambda uow, p: uow.messages.search(MessageQuery("word"), p),  # type: ignore[dict-item]
}


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


GARBAGE_CURSORS = [
    "garbage!",
    "not base64 at all",
    "%00%27--",
    "日本語",
    "A",
    "x" * 5000,
    _b64(b"\xff\xfe not utf-8"),
    _b64(b"not json"),
    _b64(b"[]"),
    _b64(json.dumps({"s": "0" * 16, "v": ["a"]}).encode()),
    _b64(json.dumps({"v": ["a", "b"]}).encode()),
    _b64(b"' OR 1=1 --"),
]


@pytest.fixture
async def every_list(uow_factory: UnitOfWorkFactory) -> UnitOfWorkFactory:
    """Three rows in each list, so the first page of two has a cursor."""
    await seed(
        uow_factory,
        users=[User(f"u{i}", "n") for i in range(3)],
        topics=[topic("t1"), topic("t2"), topic("t3")],
        messages=[message(f"m{i}", "t1", "word") for i in range(3)],
    )
    return uow_factory


@pytest.mark.parametrize("list_name", sorted(LISTS))
async def test_garbled_cursors_are_invalid_argument(
    every_list: UnitOfWorkFactory, list_name: str
) -> None:
    async with every_list() as uow:
        for cursor in GARBAGE_CURSORS:
            with pytest.raises(InvalidArgument, match="page_key"):
                await LISTS[list_name](uow, PageRequest(cursor, 2))


async def test_a_cursor_fits_only_the_list_that_made_it(every_list: UnitOfWorkFactory) -> None:
    async with every_list() as uow:
        cursors = {
            name: (await lister(uow, PageRequest(page_size=2))).next_page_key
            for name, lister in LISTS.items()
        }
        other_topic = await uow.messages.list_in_topic("t1", PageRequest(page_size=2))
        for name, lister in LISTS.items():
            for source, cursor in cursors.items():
                assert cursor
                if source != name:
                    with pytest.raises(InvalidArgument):
                        await lister(uow, PageRequest(cursor, 2))
        with pytest.raises(InvalidArgument):
            await uow.messages.list_in_topic("t2", PageRequest(other_topic.next_page_key, 2))


async def test_tampered_cursors_are_refused(every_list: UnitOfWorkFactory) -> None:
    async with every_list() as uow:
        cursor = (await uow.messages.list_in_topic("t1", PageRequest(page_size=2))).next_page_key
        payload = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        tampered = [
            {**payload, "v": [12345, payload["v"][1]]},  # a number where a time belongs
            {**payload, "v": ["yesterday", payload["v"][1]]},
            {**payload, "v": ["2024-01-01T00:00:00", payload["v"][1]]},  # no time zone
            {**payload, "v": payload["v"][:1]},
            {**payload, "s": payload["s"][::-1]},
            {**payload, "extra": 1},
        ]
        for forged in tampered:
            with pytest.raises(InvalidArgument):
                await uow.messages.list_in_topic(
                    "t1", PageRequest(_b64(json.dumps(forged).encode()), 2)
                )
        # Untampered, it still works, and truncating it breaks it.
        resumed = await uow.messages.list_in_topic("t1", PageRequest(cursor, 2))
        assert [m.id for m in resumed.items] == ["m2"]
        with pytest.raises(InvalidArgument):
            await uow.messages.list_in_topic("t1", PageRequest(cursor[:-3], 2))


async def _page_through(
    factory: UnitOfWorkFactory,
    lister: Lister,
    page_size: int,
    between_pages: Callable[[], Awaitable[None]],
) -> list[str]:
    """Page through a whole list, letting another writer commit between every two pages.

    The writes are interleaved explicitly rather than raced from a task, so that every run
    exercises the same interleaving however loaded the machine is.
    """
    seen: list[str] = []
    key = ""
    while True:
        async with factory() as uow:
            page = await lister(uow, PageRequest(key, page_size))
        seen.extend(item.id for item in page.items)  # type: ignore[attr-defined]
        if not page.has_more:
            return seen
        await between_pages()
        key = page.next_page_key


async def test_paging_topics_while_others_write(uow_factory: UnitOfWorkFactory) -> None:
    stable = [topic(f"s{i:02}", f"name {i:02}") for i in range(0, 60, 2)]
    volatile = [topic(f"v{i:02}", f"name {i:02}") for i in range(1, 60, 2)]
    await seed(uow_factory, topics=stable + volatile[::2])
    rng = random.Random(7)
    pending = list(volatile[1::2])
    present = list(volatile[::2])
    writes = 0

    async def write() -> None:
        nonlocal writes
        writes += 1
        async with uow_factory() as uow:
            if pending and rng.random() < 0.5:
                await uow.topics.add(pending.pop())
            if present:
                await uow.topics.delete(present.pop(rng.randrange(len(present))).id)
            # Names that sort before, between and after the stable rows.
            await uow.topics.add(topic(f"n{writes:04}", f"name {rng.randrange(70):02}x"))
            await uow.commit()

    seen = await _page_through(uow_factory, LISTS["topics"], 4, write)
    assert writes > 5, "the writer did not write while paging"
    assert len(seen) == len(set(seen)), "a row was repeated"
    assert {t.id for t in stable} <= set(seen), "a row that existed throughout was skipped"


async def test_paging_messages_while_others_write(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    stable = [
        replace(message(f"s{i:02}", "t1", "word"), created_at=t0 + timedelta(seconds=i))
        for i in range(0, 60, 2)
    ]
    await seed(uow_factory, messages=stable)
    rng = random.Random(11)
    added: list[str] = []
    writes = 0

    async def write() -> None:
        nonlocal writes
        writes += 1
        async with uow_factory() as uow:
            # New rows land before, among and after the stable ones.
            when = t0 + timedelta(seconds=rng.randrange(-5, 70), microseconds=writes)
            await uow.messages.add_many(
                [replace(message(f"n{writes:04}", "t1", "word"), created_at=when)]
            )
            added.append(f"n{writes:04}")
            if len(added) > 3:
                await uow.messages.delete(added.pop(rng.randrange(len(added))))
            await uow.commit()

    seen_list = await _page_through(uow_factory, LISTS["messages"], 4, write)
    seen_search = await _page_through(uow_factory, LISTS["search"], 4, write)
    assert writes > 10, "the writer did not write while paging"
    for seen in (seen_list, seen_search):
        assert len(seen) == len(set(seen)), "a row was repeated"
        assert {m.id for m in stable} <= set(seen), "a row that existed throughout was skipped"
