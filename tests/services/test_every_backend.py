"""The services' key promises, on every store: memory, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from onehub.domain.errors import Aborted, AlreadyExists, NotFound
from onehub.domain.models import Message, MessageQuery, PageRequest, Topic, User
from onehub.services.auth import Authenticator, PasswordChecker
from onehub.services.bundle import build_services
from onehub.services.ports import UnitOfWorkFactory

from .conftest import ADMIN, ALICE, BOB, cheap_hasher
from .racing import RacingUowFactory


def text(value: str, **fields: str) -> Message:
    return Message(id=fields.get("id", ""), creator_id="", topic_id="", content_text=value)


async def test_a_conversation(uow_factory: UnitOfWorkFactory) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    topic = await services.topics.create_topic(
        ALICE, Topic(id="", creator_id="", name="Ünïcode'; --", users=frozenset({"alice"}))
    )
    await services.messages.create_messages(
        ALICE, topic.id, [text("first 🚀", id="m1"), text("second'); DROP TABLE messages;--")]
    )
    await services.messages.create_messages(BOB, topic.id, [text("third")])
    updated = await services.messages.update_message(
        ALICE, text(" (edited)", id="m1"), [], append_mask=["content_text"]
    )

    page = await services.messages.list_messages(BOB, topic.id, PageRequest(page_size=2))
    rest = await services.messages.list_messages(BOB, topic.id, PageRequest(page.next_page_key))
    found = await services.messages.search_messages(
        BOB, MessageQuery(phrase="second", topic_id=topic.id), PageRequest()
    )

    assert updated.content_text == "first 🚀 (edited)"
    assert [m.content_text for m in [*page.items, *rest.items]] == [
        "first 🚀 (edited)",
        "second'); DROP TABLE messages;--",
        "third",
    ]
    assert [m.creator_id for m in found.items] == ["alice"]
    assert (await services.topics.get_topic(BOB, topic.id)).name == "Ünïcode'; --"


async def test_batches_are_all_or_nothing_and_deletes_cascade(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory)
    topic = await services.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    await services.messages.create_messages(ALICE, "t", [text("a", id="taken")])

    with pytest.raises(AlreadyExists):
        await services.messages.create_messages(
            ALICE, "t", [text("b", id="new"), text("c", id="taken")]
        )
    assert await services.messages.get_messages(ALICE, ["new"]) == {}

    await services.topics.delete_topic(ALICE, topic.id)
    assert await services.messages.get_messages(ALICE, ["taken"]) == {}
    with pytest.raises(NotFound):
        await services.messages.create_messages(ALICE, "t", [text("late")])


async def test_a_stale_update_is_aborted(uow_factory: UnitOfWorkFactory) -> None:
    racing = RacingUowFactory(uow_factory)
    services = build_services(racing)
    plain = build_services(uow_factory)
    topic = await services.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="v1"))

    async def competitor() -> None:
        await plain.topics.update_topic(
            ALICE, Topic(id="t", creator_id="", name="theirs"), ["name"]
        )

    racing.competitor = competitor
    with pytest.raises(Aborted):
        await services.topics.update_topic(
            ALICE, Topic(id="t", creator_id="", name="mine"), ["name"]
        )
    stored = await services.topics.get_topic(ALICE, "t")
    assert (stored.name, stored.version) == ("theirs", topic.version + 1)


async def test_concurrent_updates_never_lose_a_write(uow_factory: UnitOfWorkFactory) -> None:
    services = build_services(uow_factory)
    topic = await services.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    for n in range(8):
        await services.users.create_user(ADMIN, User(id=f"u{n}", name=f"U{n}"))

    async def join(user_id: str) -> bool:
        try:
            await services.topics.update_topic(
                ALICE, Topic(id="t", creator_id="", name=""), [], add_users=[user_id]
            )
        except Aborted:
            return False
        return True

    outcomes = await asyncio.gather(*(join(f"u{n}") for n in range(8)))
    stored = await services.topics.get_topic(ALICE, "t")
    winners = {f"u{n}" for n, won in enumerate(outcomes) if won}

    assert winners
    assert stored.users == winners
    assert stored.version == topic.version + len(winners)


async def test_password_login(uow_factory: UnitOfWorkFactory) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    await services.users.set_password(ALICE, "alice", "correct horse")
    auth = Authenticator(PasswordChecker(uow_factory, cheap_hasher()))

    assert (await auth.authenticate("alice", "correct horse")).user_id == "alice"


async def test_updates_carry_the_time_of_the_services_clock(
    uow_factory: UnitOfWorkFactory,
) -> None:
    ticks = iter(datetime(2030, 1, 1, 12, minute, tzinfo=UTC) for minute in range(60))
    services = build_services(uow_factory, clock=lambda: next(ticks))
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    await services.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    await services.messages.create_messages(ALICE, "t", [text("a", id="m")])

    user = await services.users.update_user(ALICE, User(id="alice", name="Al"), ["name"])
    topic = await services.topics.update_topic(
        ALICE, Topic(id="t", creator_id="", name="u"), ["name"]
    )
    message = await services.messages.update_message(ALICE, text("b", id="m"), ["content_text"])

    stored = [
        (await services.users.get_users(ALICE, ["alice"]))["alice"].updated_at,
        (await services.topics.get_topic(ALICE, "t")).updated_at,
        (await services.messages.get_message(ALICE, "m")).updated_at,
    ]
    expected = [datetime(2030, 1, 1, 12, minute, tzinfo=UTC) for minute in (3, 4, 5)]
    assert [user.updated_at, topic.updated_at, message.updated_at] == expected
    assert stored == expected


class _MeetBeforeInsert:
    """Units of work whose first two message inserts wait for each other, so two creates both
    read "no such id" before either writes: the race a retried POST through two replicas runs."""

    def __init__(self, inner: UnitOfWorkFactory) -> None:
        self.inner = inner
        self.barrier = asyncio.Barrier(2)
        self.waiting = 2

    def __call__(self) -> _MeetingUow:
        return _MeetingUow(self.inner(), self)


class _MeetingStore:
    def __init__(self, inner: Any, meeting: _MeetBeforeInsert) -> None:
        self._inner = inner
        self._meeting = meeting

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def add_many(self, messages: Any) -> Any:
        if self._meeting.waiting:
            self._meeting.waiting -= 1
            await asyncio.wait_for(self._meeting.barrier.wait(), timeout=10)
        return await self._inner.add_many(messages)


class _MeetingUow:
    def __init__(self, inner: Any, meeting: _MeetBeforeInsert) -> None:
        self._inner = inner
        self._meeting = meeting

    async def __aenter__(self) -> _MeetingUow:
        await self._inner.__aenter__()
        self.users = self._inner.users
        self.topics = self._inner.topics
        self.messages = _MeetingStore(self._inner.messages, self._meeting)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._inner.__aexit__(*exc)

    async def commit(self) -> None:
        await self._inner.commit()


async def test_a_repeated_create_with_the_same_id_answers_the_stored_message(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory)
    await services.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    (first,) = await services.messages.create_messages(
        ALICE, "t", [Message(id="m1", creator_id="", topic_id="", content_data={"k": [1, "x"]})]
    )

    again = await services.messages.create_messages(
        ALICE,
        "t",
        [
            Message(id="m1", creator_id="", topic_id="t", content_data={"k": [1, "x"]}),
            text("new one", id="m2"),
        ],
    )

    assert again[0] == first
    assert again[1].id == "m2"
    page = await services.messages.list_messages(ALICE, "t", PageRequest())
    assert [m.id for m in page.items] == ["m1", "m2"]
    # The same id with other content, or from someone else, is a different message: refused,
    # and nothing of its batch is stored.
    for sender, clash in [(ALICE, text("other", id="m1")), (BOB, text("new one", id="m2"))]:
        with pytest.raises(AlreadyExists, match="already exists"):
            await services.messages.create_messages(sender, "t", [text("x", id="m3"), clash])
    assert await services.messages.get_messages(ALICE, ["m3"]) == {}


async def test_two_racing_creates_of_the_same_message_both_succeed_with_one_row(
    uow_factory: UnitOfWorkFactory,
) -> None:
    plain = build_services(uow_factory)
    await plain.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    meeting = _MeetBeforeInsert(uow_factory)
    racing = build_services(meeting)

    answers = await asyncio.gather(
        racing.messages.create_messages(ALICE, "t", [text("once", id="m1")]),
        racing.messages.create_messages(ALICE, "t", [text("once", id="m1")]),
    )

    assert meeting.waiting == 0, "both creates reached the insert"
    assert answers[0] == answers[1]
    page = await plain.messages.list_messages(ALICE, "t", PageRequest())
    assert [(m.id, m.content_text) for m in page.items] == [("m1", "once")]


async def test_racing_creates_of_different_messages_with_one_id_store_one(
    uow_factory: UnitOfWorkFactory,
) -> None:
    plain = build_services(uow_factory)
    await plain.topics.create_topic(ALICE, Topic(id="t", creator_id="", name="t"))
    racing = build_services(_MeetBeforeInsert(uow_factory))

    answers = await asyncio.gather(
        racing.messages.create_messages(ALICE, "t", [text("one", id="m1")]),
        racing.messages.create_messages(ALICE, "t", [text("two", id="m1")]),
        return_exceptions=True,
    )

    refused = [a for a in answers if isinstance(a, AlreadyExists)]
    assert len(refused) == 1, answers
    page = await plain.messages.list_messages(ALICE, "t", PageRequest())
    assert len(page.items) == 1
