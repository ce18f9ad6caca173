"""The storage Protocols the services depend on. `onehub.storage` implements them on SQL.

Every store method runs inside the unit of work that created the store: nothing is visible to
others until `UnitOfWork.commit()`, and leaving the `async with` block without committing rolls
everything back.

Paging: a store receives a `PageRequest` whose `page_size` the service has already clamped
(1..1000); it returns `Page.next_page_key` as an opaque, store-made cursor ("" on the last page)
and raises `InvalidArgument` for a cursor it did not make. Paging is keyset-based, so rows
written while someone pages are neither skipped nor repeated among the rows that existed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Protocol, Self

from onehub.domain.models import Message, MessageQuery, Page, PageRequest, Topic, User


class UserStore(Protocol):
    async def get(self, user_id: str) -> User | None:
        """Return the user, or None if there is no user with that id."""

    async def get_many(self, user_ids: Sequence[str]) -> Mapping[str, User]:
        """Return the users that exist among `user_ids`, keyed by id; missing ids are absent."""

    async def list(self, page: PageRequest) -> Page[User]:
        """Return one page of users ordered by id."""

    async def add(self, user: User) -> User:
        """Insert and return the stored user. Raise AlreadyExists if the id is taken."""

    async def update(self, user: User, expected_version: int) -> User:
        """Replace the stored user with `user` (version incremented) and return it.

        The stored `updated_at` is `user.updated_at` (the caller's clock), or now if None.
        Raise NotFound if it is gone, Aborted if its stored version is not `expected_version`.
        """

    async def delete(self, user_id: str) -> bool:
        """Delete the user; return False if there was none."""

    async def get_password_hash(self, user_id: str) -> str | None:
        """Return the stored password hash, or None if the user has none or does not exist."""

    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        """Store the user's password hash. Raise NotFound if the user does not exist."""


class TopicStore(Protocol):
    async def get(self, topic_id: str) -> Topic | None:
        """Return the topic, or None if there is no topic with that id."""

    async def get_many(self, topic_ids: Sequence[str]) -> Mapping[str, Topic]:
        """Return the topics that exist among `topic_ids`, keyed by id."""

    async def list(self, page: PageRequest) -> Page[Topic]:
        """Return one page of topics ordered by name, then id."""

    async def add(self, topic: Topic) -> Topic:
        """Insert and return the stored topic. Raise AlreadyExists if the id is taken."""

    async def update(self, topic: Topic, expected_version: int) -> Topic:
        """Replace the stored topic (version incremented). NotFound if gone, Aborted if stale.

        The stored `updated_at` is `topic.updated_at` (the caller's clock), or now if None.
        """

    async def delete(self, topic_id: str) -> bool:
        """Delete the topic and every message in it; return False if there was no topic."""


class MessageStore(Protocol):
    async def get(self, message_id: str) -> Message | None:
        """Return the message, or None if there is no message with that id."""

    async def get_many(self, message_ids: Sequence[str]) -> Mapping[str, Message]:
        """Return the messages that exist among `message_ids`, keyed by id."""

    async def list_in_topic(self, topic_id: str, page: PageRequest) -> Page[Message]:
        """Return one page of a topic's messages ordered by creation time, then id."""

    async def add_many(self, messages: Sequence[Message]) -> Sequence[Message]:
        """Insert all messages or none. Raise AlreadyExists (naming the id) if any id is taken."""

    async def update(self, message: Message, expected_version: int) -> Message:
        """Replace the stored message (version incremented). NotFound if gone, Aborted if stale.

        The stored `updated_at` is `message.updated_at` (the caller's clock), or now if None.
        """

    async def delete(self, message_id: str) -> bool:
        """Delete the message; return False if there was none."""

    async def search(self, query: MessageQuery, page: PageRequest) -> Page[Message]:
        """Return one page of messages matching every non-empty filter of `query`.

        `query.phrase` is matched with the database's full-text index (every word must occur);
        `order_by` defaults to creation time, newest first. Raise InvalidArgument for an unknown
        sort key.
        """


class UnitOfWork(Protocol):
    """One transaction over every store. Rolls back unless `commit()` was called."""

    users: UserStore
    topics: TopicStore
    messages: MessageStore

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    async def commit(self) -> None:
        """Make every change of this unit of work durable and visible."""


UnitOfWorkFactory = Callable[[], UnitOfWork]
