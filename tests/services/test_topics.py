"""TopicService on the in-memory store: what a caller sees."""

from __future__ import annotations

import dataclasses

import pytest

from onehub.domain.errors import Aborted, AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from onehub.domain.models import Message, PageRequest, Topic
from onehub.services.bundle import Services

from .conftest import ADMIN, ALICE, BOB, add_people
from .racing import RacingUowFactory


def draft(name: str = "general", topic_id: str = "", users: frozenset[str] = frozenset()) -> Topic:
    return Topic(id=topic_id, creator_id="", name=name, users=users)


async def test_create_assigns_a_random_id_and_the_caller_as_creator(services: Services) -> None:
    first = await services.topics.create_topic(ALICE, draft())
    second = await services.topics.create_topic(ALICE, draft())

    assert first.id != second.id
    assert len(first.id) >= 8
    assert first.id.isalnum()
    assert first.creator_id == "alice"
    assert first.created_at is not None
    assert first.version >= 1
    assert await services.topics.get_topic(BOB, first.id) == first


async def test_create_ignores_a_creator_given_in_the_request(services: Services) -> None:
    topic = await services.topics.create_topic(
        BOB, dataclasses.replace(draft(), creator_id="alice")
    )
    assert topic.creator_id == "bob"


async def test_create_keeps_a_given_id_and_refuses_it_twice(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, draft(topic_id="t-1"))
    assert topic.id == "t-1"
    with pytest.raises(AlreadyExists):
        await services.topics.create_topic(BOB, draft(name="other", topic_id="t-1"))
    assert (await services.topics.get_topic(ALICE, "t-1")).name == "general"


@pytest.mark.parametrize(
    ("topic", "fragment"),
    [
        (draft(name=""), "topic name is required"),
        (draft(name="   "), "topic name is required"),
        (draft(name="x" * 257), "longer than 256"),
        (draft(topic_id="a/b"), "must not contain '/'"),
        (draft(topic_id="a b"), "must not contain '/'"),
        (draft(topic_id="x" * 129), "longer than 128"),
        (draft(users=frozenset({"ok", "bad id"})), "user id"),
    ],
)
async def test_create_refuses_invalid_topics(
    services: Services, topic: Topic, fragment: str
) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        await services.topics.create_topic(ALICE, topic)
    assert (await services.topics.list_topics(ALICE, PageRequest())).items == []


async def test_unicode_and_sql_metacharacters_are_stored_verbatim(services: Services) -> None:
    name = 'Robert\'); DROP TABLE topics;-- 🚀 日本語 "quoted" % _ \\'
    await add_people(services, "zoë", "李")
    topic = await services.topics.create_topic(
        ALICE, draft(name=name, topic_id="o'brien\";--%", users=frozenset({"zoë", "李"}))
    )
    stored = await services.topics.get_topic(ALICE, "o'brien\";--%")
    assert stored.name == name
    assert stored.users == {"zoë", "李"}
    assert topic == stored


async def test_list_pages_by_name_without_skipping_or_repeating(services: Services) -> None:
    for name in ["delta", "alpha", "charlie", "bravo", "echo"]:
        await services.topics.create_topic(ALICE, draft(name=name))

    seen: list[str] = []
    page_key = ""
    while True:
        page = await services.topics.list_topics(ALICE, PageRequest(page_key, page_size=2))
        seen += [topic.name for topic in page.items]
        if not page.has_more:
            assert page.next_page_key == ""
            break
        page_key = page.next_page_key

    assert seen == ["alpha", "bravo", "charlie", "delta", "echo"]


async def test_page_size_defaults_to_100_and_is_capped_at_1000(services: Services) -> None:
    for index in range(101):
        await services.topics.create_topic(ALICE, draft(name=f"t{index:03}"))

    default = await services.topics.list_topics(ALICE, PageRequest())
    huge = await services.topics.list_topics(ALICE, PageRequest(page_size=2**31 - 1))

    assert len(default.items) == 100
    assert default.has_more
    assert len(huge.items) == 101
    assert not huge.has_more


async def test_negative_page_size_and_forged_page_keys_are_refused(services: Services) -> None:
    with pytest.raises(InvalidArgument, match="page_size"):
        await services.topics.list_topics(ALICE, PageRequest(page_size=-1))
    with pytest.raises(InvalidArgument):
        await services.topics.list_topics(ALICE, PageRequest(page_key="not-a-real-cursor"))


async def test_get_of_a_missing_topic_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="nope"):
        await services.topics.get_topic(ALICE, "nope")
    with pytest.raises(InvalidArgument):
        await services.topics.get_topic(ALICE, "")


async def test_batch_get_returns_only_the_topics_that_exist(services: Services) -> None:
    one = await services.topics.create_topic(ALICE, draft(name="one"))
    two = await services.topics.create_topic(ALICE, draft(name="two"))

    found = await services.topics.get_topics(BOB, [one.id, "missing", two.id, one.id])

    assert found == {one.id: one, two.id: two}
    assert await services.topics.get_topics(BOB, []) == {}
    with pytest.raises(InvalidArgument, match="at most 1000"):
        await services.topics.get_topics(BOB, [f"id{n}" for n in range(1001)])


async def test_delete_removes_the_topic_and_its_messages(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, draft())
    [message] = await services.messages.create_messages(
        BOB, topic.id, [Message(id="", creator_id="", topic_id="", content_text="hi")]
    )

    await services.topics.delete_topic(ALICE, topic.id)

    with pytest.raises(NotFound):
        await services.topics.get_topic(ALICE, topic.id)
    assert await services.messages.get_messages(ALICE, [message.id]) == {}
    with pytest.raises(NotFound):
        await services.topics.delete_topic(ALICE, topic.id)


async def test_only_the_creator_or_admin_may_delete_or_update(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, draft())

    with pytest.raises(PermissionDenied):
        await services.topics.delete_topic(BOB, topic.id)
    with pytest.raises(PermissionDenied):
        await services.topics.update_topic(BOB, draft(name="mine", topic_id=topic.id), ["name"])
    assert (await services.topics.get_topic(ALICE, topic.id)).name == "general"

    renamed = await services.topics.update_topic(
        ADMIN, draft(name="by admin", topic_id=topic.id), ["name"]
    )
    assert renamed.name == "by admin"
    await services.topics.delete_topic(ADMIN, topic.id)


async def test_update_replaces_only_the_masked_fields(services: Services) -> None:
    await add_people(services, "carol")
    topic = await services.topics.create_topic(ALICE, draft(name="old", users=frozenset({"alice"})))
    change = draft(name="new", topic_id=topic.id, users=frozenset({"carol"}))

    renamed = await services.topics.update_topic(ALICE, change, ["name"])
    assert (renamed.name, renamed.users) == ("new", {"alice"})
    assert renamed.version == topic.version + 1

    everything = await services.topics.update_topic(
        ALICE, dataclasses.replace(change, name="newer"), ["*"]
    )
    assert (everything.name, everything.users) == ("newer", {"carol"})
    assert everything.creator_id == "alice"


async def test_membership_edits_need_no_mask(services: Services) -> None:
    await add_people(services, "bob", "carol")
    topic = await services.topics.create_topic(ALICE, draft(users=frozenset({"alice", "bob"})))
    updated = await services.topics.update_topic(
        ALICE, draft(topic_id=topic.id, name=""), [], add_users=["carol"], remove_users=["bob"]
    )
    assert updated.users == {"alice", "carol"}
    assert updated.name == "general"


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [
        ([], "must name a change"),
        (["creator_id"], "cannot be changed: 'creator_id'"),
        (["base.id"], "cannot be changed"),
        (["*", "name"], "'\\*' must be the only path"),
    ],
)
async def test_update_refuses_bad_masks(services: Services, mask: list[str], fragment: str) -> None:
    topic = await services.topics.create_topic(ALICE, draft())
    with pytest.raises(InvalidArgument, match=fragment):
        await services.topics.update_topic(ALICE, draft(name="x", topic_id=topic.id), mask)


async def test_update_cannot_blank_the_name(services: Services) -> None:
    topic = await services.topics.create_topic(ALICE, draft())
    with pytest.raises(InvalidArgument, match="name is required"):
        await services.topics.update_topic(ALICE, draft(name="", topic_id=topic.id), ["name"])


async def test_update_of_a_missing_topic_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        await services.topics.update_topic(ALICE, draft(topic_id="ghost"), ["name"])


async def test_a_concurrent_update_makes_the_stale_writer_abort_without_losing_either(
    services: Services, plain_services: Services, racing_uow: RacingUowFactory
) -> None:
    topic = await services.topics.create_topic(ALICE, draft(name="v1"))

    async def competitor() -> None:
        await plain_services.topics.update_topic(
            ALICE, draft(topic_id=topic.id, name="competitor"), ["name"]
        )

    racing_uow.competitor = competitor
    with pytest.raises(Aborted, match="re-read and retry"):
        await services.topics.update_topic(ALICE, draft(topic_id=topic.id, name="mine"), ["name"])

    assert (await services.topics.get_topic(ALICE, topic.id)).name == "competitor"
    retried = await services.topics.update_topic(
        ALICE, draft(topic_id=topic.id, name="mine"), ["name"]
    )
    assert retried.name == "mine"
    assert retried.version == topic.version + 2
