"""Test data and small drivers shared by the storage contract tests."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from onehub.domain.models import Message, Page, PageRequest, Topic, User
from onehub.services.ports import UnitOfWorkFactory

T = TypeVar("T")

# Strings that break naive SQL, LIKE patterns, FTS query syntax, JSON or ASCII-only code.
TRICKY_TEXTS = [
    "Robert'); DROP TABLE users;--",
    '"quoted" AND OR NOT NEAR(a b) * ^col: -x',
    "100% _under\\score_ [x] $1 ?",
    "日本語 🚀 ünïcödé ﬁ Ωmega",
    "  leading and trailing  \n\ttabs\r\n",
]


async def seed(
    factory: UnitOfWorkFactory,
    users: Sequence[User] = (),
    topics: Sequence[Topic] = (),
    messages: Sequence[Message] = (),
) -> None:
    """Store the given entities in one committed unit of work."""
    async with factory() as uow:
        for user in users:
            await uow.users.add(user)
        for topic in topics:
            await uow.topics.add(topic)
        if messages:
            await uow.messages.add_many(messages)
        await uow.commit()


async def walk_pages(
    list_page: Callable[[PageRequest], Awaitable[Page[T]]], page_size: int
) -> list[Page[T]]:
    """Follow next_page_key from the first page to the last; return every page."""
    pages = [await list_page(PageRequest(page_size=page_size))]
    while pages[-1].has_more:
        assert pages[-1].next_page_key, "has_more without a next_page_key"
        pages.append(await list_page(PageRequest(pages[-1].next_page_key, page_size)))
        assert len(pages) < 10_000, "paging does not end"
    return pages


def topic(topic_id: str, name: str = "", users: Sequence[str] = ()) -> Topic:
    return Topic(id=topic_id, creator_id="admin", name=name or topic_id, users=frozenset(users))


def message(message_id: str, topic_id: str, text: str = "", creator: str = "admin") -> Message:
    return Message(
        id=message_id,
        creator_id=creator,
        topic_id=topic_id,
        content_type="text/plain",
        content_text=text,
    )
