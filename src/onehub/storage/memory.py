"""An in-memory implementation of the storage ports, with the SQL stores' semantics.

Transactions behave like the SQL unit of work: reads see committed data plus the unit's own
writes; the first write takes the database's single writer lock (as SQLite's BEGIN IMMEDIATE
does) and works on a private copy that `commit()` publishes at once and anything else discards.
A writer that cannot get the lock within `lock_timeout` seconds gets Aborted, like a busy SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self

from opentelemetry.trace import Tracer, TracerProvider

from onehub.domain.errors import Aborted, AlreadyExists, NotFound
from onehub.domain.models import Message, MessageQuery, Page, PageRequest, Topic, User
from onehub.services.ports import (
    MessageStore,
    TopicStore,
    UnitOfWork,
    UnitOfWorkFactory,
    UserStore,
)

from .clock import as_utc, stamp, utc_now
from .keyset import TOPICS_ORDER, USERS_ORDER, topic_messages_order
from .text_search import SEARCH_TOTAL_LIMIT, search_order, search_words
from .tracing import db_span, storage_tracer
from .validation import check_id, check_json, check_message, check_message_batch, check_text


@dataclass
class _Tables:
    users: dict[str, User] = field(default_factory=dict)
    password_hashes: dict[str, str] = field(default_factory=dict)
    topics: dict[str, Topic] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)

    def copy(self) -> _Tables:
        # Shallow copies suffice: the values are frozen dataclasses.
        return _Tables(
            dict(self.users), dict(self.password_hashes), dict(self.topics), dict(self.messages)
        )


class InMemoryDatabase:
    """The data every memory unit of work made with `memory_uow_factory(db)` shares.

    Use one per event loop (its writer lock belongs to the loop that first waits on it).
    """

    def __init__(self, lock_timeout: float = 5.0) -> None:
        self.lock_timeout = lock_timeout
        self._committed = _Tables()
        self._writer = asyncio.Lock()

    def _publish(self, tables: _Tables) -> None:
        self._committed = tables


class _Transaction:
    def __init__(self, db: InMemoryDatabase) -> None:
        self._db = db
        self._working: _Tables | None = None

    def read(self) -> _Tables:
        return self._working if self._working is not None else self._db._committed

    async def write(self) -> _Tables:
        if self._working is None:
            try:
                await asyncio.wait_for(self._db._writer.acquire(), self._db.lock_timeout)
            except TimeoutError:
                raise Aborted("the database is busy with another write; retry") from None
            self._working = self._db._committed.copy()
        return self._working

    def commit(self) -> None:
        if self._working is not None:
            self._db._publish(self._working)
            self._end()

    def rollback(self) -> None:
        if self._working is not None:
            self._end()

    def _end(self) -> None:
        self._working = None
        self._db._writer.release()


def _created(given: datetime | None) -> datetime:
    return as_utc(given) if given is not None else utc_now()


def _check_version(kind: str, entity_id: str, stored_version: int, expected: int) -> None:
    if stored_version != expected:
        raise Aborted(
            f"{kind} {entity_id!r} was changed concurrently "
            f"(version {stored_version}, expected {expected}); re-read and retry"
        )


class MemoryUserStore:
    def __init__(self, tx: _Transaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetUser")
    async def get(self, user_id: str) -> User | None:
        return self._tx.read().users.get(user_id)

    @db_span("db.GetUsers")
    async def get_many(self, user_ids: Sequence[str]) -> Mapping[str, User]:
        users = self._tx.read().users
        return {uid: users[uid] for uid in user_ids if uid in users}

    @db_span("db.ListUsers")
    async def list(self, page: PageRequest) -> Page[User]:
        rows = list(self._tx.read().users.values())
        items, key, more = USERS_ORDER.page_in_memory(rows, page, USERS_ORDER.values_of)
        return Page(items, key, more, len(rows))

    @db_span("db.SaveUser")
    async def add(self, user: User) -> User:
        _check_user(user)
        tables = await self._tx.write()
        if user.id in tables.users:
            raise AlreadyExists(f"user {user.id!r} already exists")
        created = _created(user.created_at)
        stored = replace(user, created_at=created, updated_at=created, version=1)
        tables.users[user.id] = stored
        return stored

    @db_span("db.UpdateUser")
    async def update(self, user: User, expected_version: int) -> User:
        _check_user(user)
        tables = await self._tx.write()
        current = tables.users.get(user.id)
        if current is None:
            raise NotFound(f"user {user.id!r} not found")
        _check_version("user", user.id, current.version, expected_version)
        stored = replace(
            user,
            created_at=current.created_at,
            updated_at=stamp(user.updated_at),
            version=current.version + 1,
        )
        tables.users[user.id] = stored
        return stored

    @db_span("db.DeleteUser")
    async def delete(self, user_id: str) -> bool:
        tables = await self._tx.write()
        tables.password_hashes.pop(user_id, None)
        return tables.users.pop(user_id, None) is not None

    @db_span("db.GetPasswordHash")
    async def get_password_hash(self, user_id: str) -> str | None:
        return self._tx.read().password_hashes.get(user_id)

    @db_span("db.SetPasswordHash")
    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        check_text("password_hash", password_hash)
        tables = await self._tx.write()
        if user_id not in tables.users:
            raise NotFound(f"user {user_id!r} not found")
        tables.password_hashes[user_id] = password_hash


def _check_user(user: User) -> None:
    check_id("user id", user.id)
    check_text("name", user.name)
    check_text("avatar", user.avatar)
    check_json("profile_data", user.profile_data)


class MemoryTopicStore:
    def __init__(self, tx: _Transaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetTopic")
    async def get(self, topic_id: str) -> Topic | None:
        return self._tx.read().topics.get(topic_id)

    @db_span("db.GetTopics")
    async def get_many(self, topic_ids: Sequence[str]) -> Mapping[str, Topic]:
        topics = self._tx.read().topics
        return {tid: topics[tid] for tid in topic_ids if tid in topics}

    @db_span("db.ListTopics")
    async def list(self, page: PageRequest) -> Page[Topic]:
        rows = list(self._tx.read().topics.values())
        items, key, more = TOPICS_ORDER.page_in_memory(rows, page, TOPICS_ORDER.values_of)
        return Page(items, key, more, len(rows))

    @db_span("db.SaveTopic")
    async def add(self, topic: Topic) -> Topic:
        _check_topic(topic)
        tables = await self._tx.write()
        if topic.id in tables.topics:
            raise AlreadyExists(f"topic {topic.id!r} already exists")
        created = _created(topic.created_at)
        stored = replace(
            topic, users=frozenset(topic.users), created_at=created, updated_at=created, version=1
        )
        tables.topics[topic.id] = stored
        return stored

    @db_span("db.UpdateTopic")
    async def update(self, topic: Topic, expected_version: int) -> Topic:
        _check_topic(topic)
        tables = await self._tx.write()
        current = tables.topics.get(topic.id)
        if current is None:
            raise NotFound(f"topic {topic.id!r} not found")
        _check_version("topic", topic.id, current.version, expected_version)
        stored = replace(
            topic,
            users=frozenset(topic.users),
            created_at=current.created_at,
            updated_at=stamp(topic.updated_at),
            version=current.version + 1,
        )
        tables.topics[topic.id] = stored
        return stored

    @db_span("db.DeleteTopic")
    async def delete(self, topic_id: str) -> bool:
        tables = await self._tx.write()
        if tables.topics.pop(topic_id, None) is None:
            return False
        for message_id in [m.id for m in tables.messages.values() if m.topic_id == topic_id]:
            del tables.messages[message_id]
        return True


def _check_topic(topic: Topic) -> None:
    check_id("topic id", topic.id)
    check_text("creator_id", topic.creator_id)
    check_text("name", topic.name)
    for user_id in topic.users:
        check_text("users", user_id)


class MemoryMessageStore:
    def __init__(self, tx: _Transaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetMessage")
    async def get(self, message_id: str) -> Message | None:
        return self._tx.read().messages.get(message_id)

    @db_span("db.GetMessages")
    async def get_many(self, message_ids: Sequence[str]) -> Mapping[str, Message]:
        messages = self._tx.read().messages
        return {mid: messages[mid] for mid in message_ids if mid in messages}

    @db_span("db.ListMessages")
    async def list_in_topic(self, topic_id: str, page: PageRequest) -> Page[Message]:
        order = topic_messages_order(topic_id)
        rows = [m for m in self._tx.read().messages.values() if m.topic_id == topic_id]
        items, key, more = order.page_in_memory(rows, page, order.values_of)
        return Page(items, key, more, len(rows))

    @db_span("db.SaveMessages")
    async def add_many(self, messages: Sequence[Message]) -> Sequence[Message]:
        check_message_batch(messages)
        if not messages:
            return []
        tables = await self._tx.write()
        for message in messages:
            if message.id in tables.messages:
                raise AlreadyExists(f"message {message.id!r} already exists")
        for message in messages:
            if message.topic_id not in tables.topics:
                raise NotFound(f"topic {message.topic_id!r} not found")
        stored: list[Message] = []
        for message in messages:
            created = _created(message.created_at)
            row = replace(message, created_at=created, updated_at=created, version=1)
            tables.messages[message.id] = row
            stored.append(row)
        return stored

    @db_span("db.UpdateMessage")
    async def update(self, message: Message, expected_version: int) -> Message:
        check_message(message)
        tables = await self._tx.write()
        current = tables.messages.get(message.id)
        if current is None:
            raise NotFound(f"message {message.id!r} not found")
        _check_version("message", message.id, current.version, expected_version)
        if message.topic_id not in tables.topics:
            raise NotFound(f"topic {message.topic_id!r} not found")
        stored = replace(
            message,
            created_at=current.created_at,
            updated_at=stamp(message.updated_at),
            version=current.version + 1,
        )
        tables.messages[message.id] = stored
        return stored

    @db_span("db.DeleteMessage")
    async def delete(self, message_id: str) -> bool:
        tables = await self._tx.write()
        return tables.messages.pop(message_id, None) is not None

    @db_span("db.SearchMessages")
    async def search(self, query: MessageQuery, page: PageRequest) -> Page[Message]:
        order = search_order(query)
        words = set(search_words(query.phrase))
        rows = [
            m
            for m in self._tx.read().messages.values()
            if (not query.sender_id or m.creator_id == query.sender_id)
            and (not query.topic_id or m.topic_id == query.topic_id)
            and (not query.phrase or (words and words <= set(search_words(m.content_text))))
        ]
        items, key, more = order.page_in_memory(rows, page, order.values_of)
        total = min(len(rows), SEARCH_TOTAL_LIMIT) if query.phrase else len(rows)
        return Page(items, key, more, total)


class MemoryUnitOfWork:
    """One transaction over the memory stores; rolled back unless `commit()` was called."""

    def __init__(self, db: InMemoryDatabase, tracer: Tracer) -> None:
        self._tx = _Transaction(db)
        self.users: UserStore = MemoryUserStore(self._tx, tracer)
        self.topics: TopicStore = MemoryTopicStore(self._tx, tracer)
        self.messages: MessageStore = MemoryMessageStore(self._tx, tracer)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._tx.rollback()

    async def commit(self) -> None:
        self._tx.commit()


def memory_uow_factory(
    db: InMemoryDatabase, tracer_provider: TracerProvider | None = None
) -> UnitOfWorkFactory:
    """Return a factory of units of work over `db`; store spans go to `tracer_provider`
    (the global provider when None)."""
    tracer = storage_tracer(tracer_provider)

    def make() -> UnitOfWork:
        return MemoryUnitOfWork(db, tracer)

    return make
