"""TopicStore on SQL. Members are a sorted JSON array on the topic row (see tables.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Tracer
from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from onehub.domain.errors import AlreadyExists
from onehub.domain.models import Page, PageRequest, Topic

from .clock import as_utc, stamp, utc_now
from .keyset import TOPICS_ORDER
from .sql_paging import fetch_page, raise_missing_or_stale, rows_by_id
from .sql_transaction import SqlTransaction
from .tables import topics
from .tracing import db_span
from .validation import check_id, check_text


def _topic(row: Row[Any]) -> Topic:
    return Topic(
        id=row.id,
        creator_id=row.creator_id,
        name=row.name,
        users=frozenset(row.users),
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _check(topic: Topic) -> None:
    check_id("topic id", topic.id)
    check_text("creator_id", topic.creator_id)
    check_text("name", topic.name)
    for user_id in topic.users:
        check_text("users", user_id)


class SqlTopicStore:
    def __init__(self, tx: SqlTransaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetTopic")
    async def get(self, topic_id: str) -> Topic | None:
        row = (await self._tx.execute(select(topics).where(topics.c.id == topic_id))).first()
        return None if row is None else _topic(row)

    @db_span("db.GetTopics")
    async def get_many(self, topic_ids: Sequence[str]) -> Mapping[str, Topic]:
        return await rows_by_id(self._tx, topics, topic_ids, _topic)

    @db_span("db.ListTopics")
    async def list(self, page: PageRequest) -> Page[Topic]:
        return await fetch_page(self._tx, topics, TOPICS_ORDER, page, _topic)

    @db_span("db.SaveTopic")
    async def add(self, topic: Topic) -> Topic:
        _check(topic)
        created = as_utc(topic.created_at) if topic.created_at else utc_now()
        statement = insert(topics).values(
            id=topic.id,
            creator_id=topic.creator_id,
            name=topic.name,
            users=sorted(topic.users),
            created_at=created,
            updated_at=created,
            version=1,
        )
        try:
            async with self._tx.atomic():
                await self._tx.execute(statement, write=True)
        except IntegrityError:
            raise AlreadyExists(f"topic {topic.id!r} already exists") from None
        return Topic(
            topic.id, topic.creator_id, topic.name, frozenset(topic.users), created, created, 1
        )

    @db_span("db.UpdateTopic")
    async def update(self, topic: Topic, expected_version: int) -> Topic:
        _check(topic)
        now = stamp(topic.updated_at)
        statement = (
            update(topics)
            .where(topics.c.id == topic.id, topics.c.version == expected_version)
            .values(
                creator_id=topic.creator_id,
                name=topic.name,
                users=sorted(topic.users),
                updated_at=now,
                version=topics.c.version + 1,
            )
            .returning(topics.c.created_at, topics.c.version)
        )
        row = (await self._tx.execute(statement, write=True)).first()
        if row is None:
            await raise_missing_or_stale(self._tx, topics, "topic", topic.id, expected_version)
        return Topic(
            topic.id,
            topic.creator_id,
            topic.name,
            frozenset(topic.users),
            row.created_at,
            now,
            row.version,
        )

    @db_span("db.DeleteTopic")
    async def delete(self, topic_id: str) -> bool:
        # The messages go with it: ON DELETE CASCADE (SQLite enforces it with foreign_keys=ON).
        statement = delete(topics).where(topics.c.id == topic_id).returning(topics.c.id)
        return (await self._tx.execute(statement, write=True)).first() is not None
