"""MessageStore contract (everything but search), on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from onehub.domain.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from onehub.domain.models import Message, MessageQuery, PageRequest
from onehub.services.ports import UnitOfWorkFactory

from .helpers import TRICKY_TEXTS, message, seed, topic, walk_pages


async def test_add_many_stores_every_message(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    batch = [
        Message("m1", "u1", "t1", "text/plain", "hello", {"a": {"b": [1, None]}}, "m0"),
        message("m2", "t1", "world"),
    ]
    async with uow_factory() as uow:
        stored = list(await uow.messages.add_many(batch))
        await uow.commit()
    async with uow_factory() as uow:
        found = await uow.messages.get_many(["m2", "m1", "nope"])
        m1 = await uow.messages.get("m1")
    assert m1 == stored[0]
    assert found == {"m1": stored[0], "m2": stored[1]}
    assert (m1.creator_id, m1.topic_id, m1.content_type) == ("u1", "t1", "text/plain")
    assert (m1.content_text, m1.parent_message_id) == ("hello", "m0")
    assert m1.content_data == {"a": {"b": [1, None]}}
    assert m1.version == 1
    assert stored[1].content_data is None


async def test_an_empty_batch_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert list(await uow.messages.add_many([])) == []


@pytest.mark.parametrize("text", TRICKY_TEXTS)
async def test_every_text_field_round_trips(uow_factory: UnitOfWorkFactory, text: str) -> None:
    await seed(uow_factory, topics=[topic(text)])
    original = Message(text, text, text, text, text, {text: [text]}, text)
    await seed(uow_factory, messages=[original])
    async with uow_factory() as uow:
        stored = await uow.messages.get(text)
        listed = await uow.messages.list_in_topic(text, PageRequest(page_size=5))
    assert stored is not None
    assert replace(stored, created_at=None, updated_at=None, version=0) == original
    assert listed.items == [stored]


async def test_a_batch_with_one_taken_id_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")], messages=[message("taken", "t1")])
    batch = [message("new1", "t1"), message("taken", "t1"), message("new2", "t1")]
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists, match="taken"):
            await uow.messages.add_many(batch)
        await uow.commit()
    async with uow_factory() as uow:
        assert sorted(await uow.messages.get_many(["new1", "new2", "taken"])) == ["taken"]


async def test_a_batch_repeating_an_id_stores_nothing(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists, match="twice"):
            await uow.messages.add_many([message("m1", "t1"), message("m1", "t1")])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.messages.get("m1") is None


async def test_a_batch_into_a_missing_topic_stores_nothing(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(NotFound, match="ghost"):
            await uow.messages.add_many([message("m1", "t1"), message("m2", "ghost")])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.messages.get("m1") is None


async def test_a_bad_message_anywhere_refuses_the_batch(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(InvalidArgument, match="content_text"):
            await uow.messages.add_many([message("m1", "t1"), message("m2", "t1", "a\x00b")])
        with pytest.raises(InvalidArgument, match="topic_id"):
            await uow.messages.add_many([message("m3", "")])
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.messages.get("m1") is None


async def test_list_in_topic_follows_creation_order(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    # Ids sort opposite to creation, so only created_at can explain the order.
    await seed(uow_factory, messages=[message(f"m{9 - i}", "t1") for i in range(5)])
    await seed(uow_factory, messages=[message("m0", "t1"), message("other", "t2")])
    async with uow_factory() as uow:
        pages = await walk_pages(lambda p: uow.messages.list_in_topic("t1", p), page_size=2)
    assert [m.id for p in pages for m in p.items] == ["m9", "m8", "m7", "m6", "m5", "m0"]
    assert {p.total for p in pages} == {6}
    assert [p.has_more for p in pages] == [True, True, False]


async def test_given_creation_times_are_kept_and_order_the_list(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    base = datetime(2020, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    same = base + timedelta(seconds=1)
    batch = [
        replace(message("late", "t1"), created_at=base + timedelta(days=1)),
        replace(message("b-same", "t1"), created_at=same),
        replace(message("a-same", "t1"), created_at=same),
        replace(message("early", "t1"), created_at=base.astimezone(timezone(timedelta(hours=2)))),
    ]
    await seed(uow_factory, messages=batch)
    async with uow_factory() as uow:
        pages = await walk_pages(lambda p: uow.messages.list_in_topic("t1", p), page_size=1)
    listed = [m for p in pages for m in p.items]
    assert [m.id for m in listed] == ["early", "a-same", "b-same", "late"]
    assert listed[0].created_at == base
    assert listed[0].created_at.tzinfo is not None


async def test_update_replaces_content_and_reindexes_it(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    await seed(uow_factory, messages=[message("m1", "t1", "apples")])
    async with uow_factory() as uow:
        before = await uow.messages.get("m1")
        assert before is not None
        changed = replace(
            before, topic_id="t2", content_text="pears", content_data={"k": 1}, updated_at=None
        )
        after = await uow.messages.update(changed, expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.messages.get("m1")
        apples = await uow.messages.search(MessageQuery("apples"), PageRequest(page_size=5))
        pears = await uow.messages.search(MessageQuery("pears"), PageRequest(page_size=5))
        in_t2 = await uow.messages.list_in_topic("t2", PageRequest(page_size=5))
    assert stored == after
    assert (stored.topic_id, stored.content_text, stored.content_data) == ("t2", "pears", {"k": 1})
    assert stored.version == 2
    assert stored.created_at == before.created_at
    assert stored.updated_at is not None
    assert before.updated_at is not None
    assert stored.updated_at > before.updated_at
    assert apples.items == []
    assert [m.id for m in pears.items] == ["m1"]
    assert [m.id for m in in_t2.items] == ["m1"]


async def test_update_refusals(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")], messages=[message("m1", "t1", "x")])
    async with uow_factory() as uow:
        with pytest.raises(Aborted, match="m1"):
            await uow.messages.update(message("m1", "t1", "y"), expected_version=2)
        with pytest.raises(NotFound, match="m9"):
            await uow.messages.update(message("m9", "t1", "y"), expected_version=1)
        with pytest.raises(NotFound, match="ghost"):
            await uow.messages.update(message("m1", "ghost", "y"), expected_version=1)
        # Still usable after the refusals, and nothing changed.
        stored = await uow.messages.get("m1")
    assert stored is not None
    assert (stored.content_text, stored.topic_id, stored.version) == ("x", "t1", 1)


async def test_delete_reports_whether_there_was_a_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")], messages=[message("m1", "t1", "gone soon")])
    async with uow_factory() as uow:
        assert await uow.messages.delete("m1") is True
        assert await uow.messages.delete("m1") is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.messages.get("m1") is None
        found = await uow.messages.search(MessageQuery("gone"), PageRequest(page_size=5))
    assert found.items == []
