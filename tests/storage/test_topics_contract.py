"""TopicStore contract, on every backend."""

from __future__ import annotations

import pytest

from onehub.domain.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from onehub.domain.models import MessageQuery, PageRequest, Topic
from onehub.services.ports import UnitOfWorkFactory

from .helpers import TRICKY_TEXTS, message, seed, topic, walk_pages


async def test_add_then_get_keeps_members(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        added = await uow.topics.add(topic("t1", "General", users=["u2", "u1", "admin"]))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.topics.get("t1")
    assert stored == added
    assert stored.users == frozenset({"u1", "u2", "admin"})
    assert (stored.name, stored.creator_id, stored.version) == ("General", "admin", 1)
    assert stored.created_at is not None
    assert stored.updated_at == stored.created_at


@pytest.mark.parametrize("text", TRICKY_TEXTS)
async def test_every_text_field_round_trips(uow_factory: UnitOfWorkFactory, text: str) -> None:
    await seed(uow_factory, topics=[Topic(text, text, text, frozenset({text, "plain"}))])
    async with uow_factory() as uow:
        stored = await uow.topics.get(text)
    assert stored is not None
    assert (stored.id, stored.creator_id, stored.name) == (text, text, text)
    assert stored.users == frozenset({text, "plain"})


async def test_missing_topic_is_none_and_get_many_skips_it(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    async with uow_factory() as uow:
        assert await uow.topics.get("t3") is None
        found = await uow.topics.get_many(["t3", "t2", "t1", "t2"])
    assert sorted(found) == ["t1", "t2"]
    assert found["t1"].id == "t1"


async def test_adding_a_taken_id_names_it(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists, match="t1"):
            await uow.topics.add(topic("t1", "again"))


@pytest.mark.parametrize(
    "bad",
    [topic(""), topic("t\x00"), topic("t1", "na\x00me"), topic("t1", users=["u\x00"])],
    ids=["empty-id", "nul-id", "nul-name", "nul-member"],
)
async def test_unstorable_topics_are_invalid_argument(
    uow_factory: UnitOfWorkFactory, bad: Topic
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(InvalidArgument):
            await uow.topics.add(bad)


async def test_list_orders_by_name_then_id(uow_factory: UnitOfWorkFactory) -> None:
    topics = [
        topic("t1", "beta"),
        topic("t2", "Alpha"),
        topic("t3", "alpha"),
        topic("t0", "beta"),
        topic("t4", "ünicode"),
        topic("t5", "Zed"),
    ]
    await seed(uow_factory, topics=topics)
    async with uow_factory() as uow:
        pages = await walk_pages(uow.topics.list, page_size=4)
    # Names compare as code points on every backend (uppercase first, then lowercase, then é).
    assert [t.id for p in pages for t in p.items] == ["t2", "t5", "t3", "t0", "t1", "t4"]
    assert [p.total for p in pages] == [6, 6]
    assert [len(p.items) for p in pages] == [4, 2]


async def test_update_replaces_name_and_members(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1", "old", users=["a", "b"])])
    async with uow_factory() as uow:
        before = await uow.topics.get("t1")
        assert before is not None
        after = await uow.topics.update(topic("t1", "new", users=["b", "c"]), expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.topics.get("t1")
    assert stored == after
    assert (stored.name, stored.users, stored.version) == ("new", frozenset({"b", "c"}), 2)
    assert stored.created_at == before.created_at


async def test_stale_or_missing_updates_are_refused(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(Aborted, match="t1"):
            await uow.topics.update(topic("t1", "x"), expected_version=5)
        with pytest.raises(NotFound, match="t9"):
            await uow.topics.update(topic("t9", "x"), expected_version=1)


async def test_deleting_a_topic_deletes_its_messages(uow_factory: UnitOfWorkFactory) -> None:
    await seed(
        uow_factory,
        topics=[topic("t1"), topic("t2")],
        messages=[
            message("m1", "t1", "first words"),
            message("m2", "t1", "second words"),
            message("m3", "t2", "other words"),
        ],
    )
    async with uow_factory() as uow:
        assert await uow.topics.delete("t1") is True
        assert await uow.topics.delete("t1") is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.topics.get("t1") is None
        assert sorted(await uow.messages.get_many(["m1", "m2", "m3"])) == ["m3"]
        listed = await uow.messages.list_in_topic("t1", PageRequest(page_size=10))
        # The full-text index forgot them too.
        searched = await uow.messages.search(MessageQuery("words"), PageRequest(page_size=10))
    assert listed.items == []
    assert listed.total == 0
    assert [m.id for m in searched.items] == ["m3"]
