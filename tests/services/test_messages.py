"""MessageService on the in-memory store: what a caller sees."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onehub.domain.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from onehub.domain.models import Message, MessageQuery, PageRequest, Topic
from onehub.services.bundle import Services

from .conftest import ADMIN, ALICE, BOB


def msg(text: str = "hello", **fields: object) -> Message:
    values: dict[str, object] = {"id": "", "creator_id": "", "topic_id": "", **fields}
    return Message(content_text=text, **values)  # type: ignore[arg-type]


@pytest.fixture
async def topic(services: Services) -> Topic:
    return await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="chat"))


async def test_create_sets_ids_topic_and_the_caller_as_creator(
    services: Services, topic: Topic
) -> None:
    created = await services.messages.create_messages(
        BOB, topic.id, [msg("one", creator_id="alice"), msg("two", id="m-2")]
    )

    assert [m.content_text for m in created] == ["one", "two"]
    assert {m.creator_id for m in created} == {"bob"}
    assert {m.topic_id for m in created} == {topic.id}
    assert created[1].id == "m-2"
    assert len(created[0].id) >= 8
    assert await services.messages.get_message(ALICE, "m-2") == created[1]


async def test_allow_userids_keeps_creators_for_admin_only(
    services: Services, topic: Topic
) -> None:
    seeded = await services.messages.create_messages(
        ADMIN, topic.id, [msg(creator_id="carol"), msg()], allow_userids=True
    )
    assert [m.creator_id for m in seeded] == ["carol", "admin"]

    ignored = await services.messages.create_messages(
        BOB, topic.id, [msg(creator_id="carol")], allow_userids=True
    )
    assert ignored[0].creator_id == "bob"

    not_asked = await services.messages.create_messages(ADMIN, topic.id, [msg(creator_id="carol")])
    assert not_asked[0].creator_id == "admin"


async def test_create_in_a_missing_topic_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound, match="ghost"):
        await services.messages.create_messages(ALICE, "ghost", [msg()])


async def test_a_batch_is_all_or_nothing(services: Services, topic: Topic) -> None:
    await services.messages.create_messages(ALICE, topic.id, [msg(id="taken")])

    with pytest.raises(AlreadyExists, match="taken"):
        await services.messages.create_messages(
            ALICE, topic.id, [msg("first", id="fresh"), msg("second", id="taken")]
        )

    assert await services.messages.get_messages(ALICE, ["fresh"]) == {}
    page = await services.messages.list_messages(ALICE, topic.id, PageRequest())
    assert [m.id for m in page.items] == ["taken"]


@pytest.mark.parametrize(
    ("batch", "fragment"),
    [
        ([msg(), msg(id="a b")], r"messages\[1\]: id must not contain"),
        ([msg(id="x"), msg(), msg(id="x")], r"messages\[2\]: id 'x' repeats messages\[0\]"),
        ([msg(topic_id="elsewhere")], r"messages\[0\]: topic_id differs"),
        ([msg(content_type="t" * 300)], r"messages\[0\]: content_type is longer"),
        ([msg(parent_message_id="a/b")], r"messages\[0\]: parent_message_id"),
        ([msg()] * 1001, "at most 1000 messages"),
    ],
)
async def test_create_names_the_index_of_a_bad_message(
    services: Services, topic: Topic, batch: list[Message], fragment: str
) -> None:
    with pytest.raises(InvalidArgument, match=fragment):
        await services.messages.create_messages(ALICE, topic.id, batch)
    assert (await services.messages.list_messages(ALICE, topic.id, PageRequest())).items == []


async def test_list_is_in_creation_order_including_within_a_batch(
    services: Services, topic: Topic
) -> None:
    await services.messages.create_messages(ALICE, topic.id, [msg("1"), msg("2"), msg("3")])
    await services.messages.create_messages(BOB, topic.id, [msg("4")])

    first = await services.messages.list_messages(ALICE, topic.id, PageRequest(page_size=3))
    rest = await services.messages.list_messages(
        ALICE, topic.id, PageRequest(first.next_page_key, 3)
    )

    assert [m.content_text for m in first.items] == ["1", "2", "3"]
    assert [m.content_text for m in rest.items] == ["4"]
    assert first.has_more
    assert not rest.has_more
    assert first.total == 4


async def test_list_of_a_missing_topic_is_not_found(services: Services) -> None:
    with pytest.raises(NotFound):
        await services.messages.list_messages(ALICE, "ghost", PageRequest())


async def test_import_is_for_admin_and_keeps_what_it_is_given(
    services: Services, topic: Topic
) -> None:
    when = datetime(2020, 5, 17, 8, 30, tzinfo=UTC)
    imported = await services.messages.import_messages(
        ADMIN,
        [
            msg("old", id="imp-1", topic_id=topic.id, creator_id="carol", created_at=when),
            msg("new", topic_id=topic.id, creator_id="dave"),
        ],
    )
    assert next((m.id, m.creator_id) for m in imported) == ("imp-1", "carol")
    assert imported[0].created_at == when
    assert imported[1].creator_id == "dave"
    assert imported[1].id

    with pytest.raises(PermissionDenied):
        await services.messages.import_messages(ALICE, [msg(topic_id=topic.id, creator_id="alice")])


@pytest.mark.parametrize(
    ("index", "fields", "fragment"),
    [
        (1, {"creator_id": "x"}, r"messages\[1\]: topic_id is required"),
        (1, {"topic_id": "T"}, r"messages\[1\]: creator_id is required"),
    ],
)
async def test_import_needs_topic_and_creator_on_every_message(
    services: Services, topic: Topic, index: int, fields: dict[str, str], fragment: str
) -> None:
    good = msg(topic_id=topic.id, creator_id="carol")
    with pytest.raises(InvalidArgument, match=fragment):
        await services.messages.import_messages(ADMIN, [good, msg(**fields)])
    assert (await services.messages.list_messages(ALICE, topic.id, PageRequest())).items == []


async def test_import_into_a_missing_topic_is_not_found_and_saves_nothing(
    services: Services, topic: Topic
) -> None:
    with pytest.raises(NotFound, match=r"messages\[1\]: topic 'ghost'"):
        await services.messages.import_messages(
            ADMIN,
            [
                msg(topic_id=topic.id, creator_id="carol"),
                msg(topic_id="ghost", creator_id="carol"),
            ],
        )
    assert (await services.messages.list_messages(ALICE, topic.id, PageRequest())).items == []


async def test_update_replaces_and_appends(services: Services, topic: Topic) -> None:
    [stored] = await services.messages.create_messages(
        ALICE, topic.id, [msg("Hello", content_data={"a": 1, "b": {"x": 1}})]
    )
    change = msg(", world", id=stored.id, content_data={"b": {"y": 2}, "c": 3}, content_type="md")

    appended = await services.messages.update_message(
        ALICE, change, update_mask=["content_type"], append_mask=["content_text", "content_data"]
    )

    assert appended.content_text == "Hello, world"
    assert appended.content_type == "md"
    # Shallow merge: "b" is replaced as a whole, "a" kept, "c" added.
    assert appended.content_data == {"a": 1, "b": {"y": 2}, "c": 3}
    assert appended.creator_id == "alice"
    assert appended.topic_id == topic.id

    replaced = await services.messages.update_message(ALICE, msg("fresh", id=stored.id), ["*"])
    assert replaced.content_text == "fresh"
    assert replaced.content_data is None
    assert replaced.content_type == ""


@pytest.mark.parametrize(
    ("update", "append", "fragment"),
    [
        ([], [], "must name a field"),
        (["topic_id"], [], "cannot be changed: 'topic_id'"),
        ([], ["parent_message_id"], "append_mask names"),
        (["content_text"], ["content_text"], "in both update_mask and append_mask"),
    ],
)
async def test_update_refuses_bad_masks(
    services: Services, topic: Topic, update: list[str], append: list[str], fragment: str
) -> None:
    [stored] = await services.messages.create_messages(ALICE, topic.id, [msg()])
    with pytest.raises(InvalidArgument, match=fragment):
        await services.messages.update_message(ALICE, msg("x", id=stored.id), update, append)


async def test_only_the_creator_or_admin_may_change_a_message(
    services: Services, topic: Topic
) -> None:
    [stored] = await services.messages.create_messages(ALICE, topic.id, [msg("mine")])

    with pytest.raises(PermissionDenied):
        await services.messages.update_message(BOB, msg("hijack", id=stored.id), ["content_text"])
    with pytest.raises(PermissionDenied):
        await services.messages.delete_message(BOB, stored.id)
    assert (await services.messages.get_message(BOB, stored.id)).content_text == "mine"

    await services.messages.update_message(ADMIN, msg("moderated", id=stored.id), ["content_text"])
    await services.messages.delete_message(ADMIN, stored.id)
    with pytest.raises(NotFound):
        await services.messages.get_message(ALICE, stored.id)
    with pytest.raises(NotFound):
        await services.messages.delete_message(ALICE, stored.id)
    with pytest.raises(NotFound):
        await services.messages.update_message(ALICE, msg(id=stored.id), ["content_text"])


async def test_search_filters_by_phrase_sender_and_topic(services: Services, topic: Topic) -> None:
    other = await services.topics.create_topic(BOB, Topic(id="", creator_id="", name="other"))
    await services.messages.create_messages(ALICE, topic.id, [msg("the quick brown fox")])
    await services.messages.create_messages(BOB, topic.id, [msg("a quick reply")])
    await services.messages.create_messages(BOB, other.id, [msg("quick elsewhere")])

    def texts(items: object) -> list[str]:
        return [m.content_text for m in items]  # type: ignore[attr-defined]

    everything = await services.messages.search_messages(
        ALICE, MessageQuery(phrase="quick", order_by=["created_at"]), PageRequest()
    )
    assert texts(everything.items) == ["the quick brown fox", "a quick reply", "quick elsewhere"]

    by_bob_here = await services.messages.search_messages(
        ALICE, MessageQuery(phrase="quick", sender_id="bob", topic_id=topic.id), PageRequest()
    )
    assert texts(by_bob_here.items) == ["a quick reply"]

    newest_first = await services.messages.search_messages(
        ALICE, MessageQuery(sender_id="bob"), PageRequest()
    )
    assert texts(newest_first.items) == ["quick elsewhere", "a quick reply"]

    with pytest.raises(InvalidArgument):
        await services.messages.search_messages(
            ALICE, MessageQuery(order_by=["password"]), PageRequest()
        )
    with pytest.raises(InvalidArgument, match="search_phrase"):
        await services.messages.search_messages(
            ALICE, MessageQuery(phrase="x" * 1001), PageRequest()
        )
