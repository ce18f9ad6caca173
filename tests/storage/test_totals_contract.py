"""What `Page.total` means: exact for a topic's messages, capped for a search."""

from __future__ import annotations

import dataclasses

from onehub.domain.models import MessageQuery, PageRequest
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.text_search import SEARCH_TOTAL_LIMIT

from .helpers import message, seed, topic


async def _topic_total(factory: UnitOfWorkFactory, topic_id: str) -> int:
    async with factory() as uow:
        return (await uow.messages.list_in_topic(topic_id, PageRequest(page_size=1))).total


async def test_a_topic_total_follows_inserts_deletes_and_moves(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1"), topic("t2")])
    await seed(uow_factory, messages=[message(f"a{i}", "t1") for i in range(5)])
    await seed(uow_factory, messages=[message("b0", "t2"), message("a5", "t1")])
    assert (await _topic_total(uow_factory, "t1"), await _topic_total(uow_factory, "t2")) == (6, 1)

    async with uow_factory() as uow:
        assert await uow.messages.delete("a0")
        moved = await uow.messages.get("a1")
        assert moved is not None
        await uow.messages.update(dataclasses.replace(moved, topic_id="t2"), moved.version)
        edited = await uow.messages.get("a2")
        assert edited is not None
        await uow.messages.update(dataclasses.replace(edited, content_text="x"), edited.version)
        await uow.commit()
    assert (await _topic_total(uow_factory, "t1"), await _topic_total(uow_factory, "t2")) == (4, 2)


async def test_a_topic_total_counts_writes_of_its_own_transaction_only_once_committed(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        await uow.messages.add_many([message(f"m{i}", "t1") for i in range(3)])
        assert (await uow.messages.list_in_topic("t1", PageRequest())).total == 3
        # Not committed: rolled back on exit.
    assert await _topic_total(uow_factory, "t1") == 0


async def test_a_deleted_and_recreated_topic_starts_from_zero(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")], messages=[message("m1", "t1")])
    async with uow_factory() as uow:
        assert await uow.topics.delete("t1")
        await uow.commit()
    assert await _topic_total(uow_factory, "t1") == 0
    await seed(uow_factory, topics=[topic("t1")], messages=[message("m2", "t1")])
    assert await _topic_total(uow_factory, "t1") == 1


async def test_a_search_total_is_exact_up_to_the_limit_then_the_limit(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    many = [message(f"m{i:05d}", "t1", f"common {i}") for i in range(SEARCH_TOTAL_LIMIT + 7)]
    await seed(uow_factory, messages=[*many, message("rare", "t1", "common unusual")])
    async with uow_factory() as uow:
        common = await uow.messages.search(MessageQuery("common"), PageRequest(page_size=5))
        unusual = await uow.messages.search(MessageQuery("unusual"), PageRequest(page_size=5))
        listed = await uow.messages.list_in_topic("t1", PageRequest(page_size=5))
    assert (common.total, len(common.items), common.has_more) == (SEARCH_TOTAL_LIMIT, 5, True)
    assert (unusual.total, [m.id for m in unusual.items]) == (1, ["rare"])
    # The topic's own list stays exact past the search's limit.
    assert listed.total == SEARCH_TOTAL_LIMIT + 8


async def test_a_search_without_a_phrase_counts_every_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    many = [message(f"m{i:05d}", "t1", "plain") for i in range(SEARCH_TOTAL_LIMIT + 3)]
    await seed(uow_factory, messages=many)
    async with uow_factory() as uow:
        everything = await uow.messages.search(MessageQuery(), PageRequest(page_size=5))
        in_topic = await uow.messages.search(MessageQuery(topic_id="t1"), PageRequest())
    assert everything.total == in_topic.total == SEARCH_TOTAL_LIMIT + 3
