"""TopicStore on SQL. Members are a sorted JSON array on the topic row (see tables.py)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from opentelemetry.trace import Tracer
from sqlalchemy import Row

from onehub.domain.models import Page, PageRequest, Topic

from .clock import as_utc, stamp, utc_now
from .keyset import TOPICS_ORDER
from .sql_paging import fetch_page
from .sql_rows import delete_by_id, insert_new, row_by_id, rows_by_id, update_versioned
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


def _content(topic: Topic) -> dict[str, Any]:
    return {"creator_id": topic.creator_id, "name": topic.name, "users": sorted(topic.users)}


def _stored(topic: Topic, created: datetime, updated: datetime, version: int) -> Topic:
    return Topic(
        topic.id, topic.creator_id, topic.name, frozenset(topic.users), created, updated, version
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
        return await row_by_id(self._tx, topics, topic_id, _topic)

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
        values = {**_content(topic), "created_at": created, "updated_at": created, "version": 1}
        await insert_new(self._tx, topics, "topic", {"id": topic.id, **values})
        return _stored(topic, created, created, 1)

    @db_span("db.UpdateTopic")
    async def update(self, topic: Topic, expected_version: int) -> Topic:
        _check(topic)
        now = stamp(topic.updated_at)
        changes = {**_content(topic), "updated_at": now}
        row = await update_versioned(self._tx, topics, "topic", topic.id, expected_version, changes)
        return _stored(topic, row.created_at, now, row.version)

    @db_span("db.DeleteTopic")
    async def delete(self, topic_id: str) -> bool:
        # The messages go with it: ON DELETE CASCADE (SQLite enforces it with foreign_keys=ON).
        return await delete_by_id(self._tx, topics, topic_id)
