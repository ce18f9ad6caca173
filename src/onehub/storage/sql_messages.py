"""MessageStore on SQL, with full-text search (SQLite FTS5, PostgreSQL tsvector)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Tracer
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    bindparam,
    func,
    insert,
    literal_column,
    select,
    table,
)
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.exc import IntegrityError

from onehub.domain.errors import Aborted, AlreadyExists, NotFound
from onehub.domain.models import Message, MessageQuery, Page, PageRequest

from .clock import as_utc, stamp, utc_now
from .keyset import KeysetOrder, topic_messages_order
from .pg_search import search_in_windows, walks_in_windows
from .sql_paging import bounded_count, fetch_page
from .sql_rows import delete_by_id, existing_ids, row_by_id, rows_by_id, update_versioned
from .sql_search import count_matches, search_newest_first, walks_the_index
from .sql_transaction import SqlTransaction
from .tables import messages as message_rows
from .tables import topic_message_counts
from .tables import topics as topic_rows
from .text_search import SEARCH_TOTAL_LIMIT, search_order, search_words
from .tracing import db_span
from .validation import check_message, check_message_batch

# Rows per INSERT of a batch (executemany on SQLite, batched statements on PostgreSQL).
INSERT_CHUNK_ROWS = 2000


def _message(row: Row[Any]) -> Message:
    return Message(
        id=row.id,
        creator_id=row.creator_id,
        topic_id=row.topic_id,
        content_type=row.content_type,
        content_text=row.content_text,
        content_data=row.content_data,
        parent_message_id=row.parent_message_id,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _content(message: Message) -> dict[str, Any]:
    return {
        "topic_id": message.topic_id,
        "creator_id": message.creator_id,
        "content_type": message.content_type,
        "content_text": message.content_text,
        "content_data": None if message.content_data is None else dict(message.content_data),
        "parent_message_id": message.parent_message_id,
    }


def _as_stored(message: Message) -> Message:
    created = as_utc(message.created_at) if message.created_at else utc_now()
    return Message(
        id=message.id,
        topic_id=message.topic_id,
        creator_id=message.creator_id,
        content_type=message.content_type,
        content_text=message.content_text,
        content_data=None if message.content_data is None else dict(message.content_data),
        parent_message_id=message.parent_message_id,
        created_at=created,
        updated_at=created,
        version=1,
    )


def _rows(stored: Sequence[Message]) -> list[dict[str, Any]]:
    return [
        {
            "id": message.id,
            "topic_id": message.topic_id,
            "creator_id": message.creator_id,
            "content_type": message.content_type,
            "content_text": message.content_text,
            "content_data": message.content_data,
            "parent_message_id": message.parent_message_id,
            "created_at": message.created_at,
            "updated_at": message.updated_at,
            "version": message.version,
        }
        for message in stored
    ]


def _fts5_query(words: Sequence[str]) -> str:
    # Each word a quoted string, ANDed by juxtaposition; words never contain quotes.
    return " ".join(f'"{word}"' for word in words)


def _matches_words(dialect: str, words: Sequence[str]) -> ColumnElement[bool]:
    """Messages whose text contains every word, through the dialect's full-text index."""
    if dialect == "postgresql":
        # Words are letters and digits only, so plainto_tsquery sees no syntax at all. They and
        # the configuration are rendered into the statement, not bound: the query is then a
        # constant, which a prepared statement's generic plan can estimate as well as a custom
        # one (bound, it chose the GIN bitmap, every match, for a word in every row).
        phrase = bindparam("search_words", " ".join(words), Text(), literal_execute=True)
        query = func.plainto_tsquery(literal_column("'simple'::regconfig", REGCONFIG), phrase)
        return literal_column("content_tsv").op("@@")(query)
    fts_query = _fts5_query(words)
    matching: Select[tuple[Any]] = (
        select(literal_column("rowid"))
        .select_from(table("messages_fts"))
        .where(literal_column("messages_fts").op("MATCH")(fts_query))
    )
    return message_rows.c.seq.in_(matching)


class SqlMessageStore:
    def __init__(self, tx: SqlTransaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetMessage")
    async def get(self, message_id: str) -> Message | None:
        return await row_by_id(self._tx, message_rows, message_id, _message)

    @db_span("db.GetMessages")
    async def get_many(self, message_ids: Sequence[str]) -> Mapping[str, Message]:
        return await rows_by_id(self._tx, message_rows, message_ids, _message)

    @db_span("db.ListMessages")
    async def list_in_topic(self, topic_id: str, page: PageRequest) -> Page[Message]:
        order = topic_messages_order(topic_id)
        filters = [message_rows.c.topic_id == topic_id]

        async def topic_count() -> int:
            # Kept exact by the triggers on messages (a few rows per topic); no topic, no rows.
            counts = topic_message_counts
            count = select(func.coalesce(func.sum(counts.c.n), 0)).where(
                counts.c.topic_id == topic_id
            )
            return int((await self._tx.execute(count)).scalar_one())

        return await fetch_page(
            self._tx, message_rows, order, page, _message, filters, total=topic_count
        )

    @db_span("db.SaveMessages")
    async def add_many(self, messages: Sequence[Message]) -> Sequence[Message]:
        check_message_batch(messages)
        if not messages:
            return []
        stored = [_as_stored(message) for message in messages]
        try:
            async with self._tx.atomic():
                # Chunks bound the parameter rows held at once; the savepoint (and the unit of
                # work's transaction) keeps the batch all or nothing.
                for start in range(0, len(stored), INSERT_CHUNK_ROWS):
                    chunk = stored[start : start + INSERT_CHUNK_ROWS]
                    await self._tx.execute(insert(message_rows), _rows(chunk), write=True)
        except IntegrityError:
            await self._explain_refused_batch(messages)
        return stored

    async def _explain_refused_batch(self, batch: Sequence[Message]) -> None:
        taken = await existing_ids(self._tx, message_rows, [m.id for m in batch])
        for message in batch:
            if message.id in taken:
                raise AlreadyExists(f"message {message.id!r} already exists")
        present = await existing_ids(self._tx, topic_rows, [m.topic_id for m in batch])
        for message in batch:
            if message.topic_id not in present:
                raise NotFound(f"topic {message.topic_id!r} not found")
        raise Aborted("a concurrent write conflicted with this batch; retry")

    @db_span("db.UpdateMessage")
    async def update(self, message: Message, expected_version: int) -> Message:
        check_message(message)
        now = stamp(message.updated_at)
        changes = {**_content(message), "updated_at": now}
        try:
            async with self._tx.atomic():
                row = await update_versioned(
                    self._tx, message_rows, "message", message.id, expected_version, changes
                )
        except IntegrityError:
            # The only constraint an update can break: moving to a topic that does not exist.
            raise NotFound(f"topic {message.topic_id!r} not found") from None
        return Message(
            **{**_content(message), "id": message.id},
            created_at=row.created_at,
            updated_at=now,
            version=row.version,
        )

    @db_span("db.DeleteMessage")
    async def delete(self, message_id: str) -> bool:
        return await delete_by_id(self._tx, message_rows, message_id)

    @db_span("db.SearchMessages")
    async def search(self, query: MessageQuery, page: PageRequest) -> Page[Message]:
        order = search_order(query)
        filters: list[ColumnElement[bool]] = []
        if query.sender_id:
            filters.append(message_rows.c.creator_id == query.sender_id)
        if query.topic_id:
            filters.append(message_rows.c.topic_id == query.topic_id)
        if query.phrase:
            words = search_words(query.phrase)
            if not words:
                order.decode(page.page_key)  # a bad cursor is still an error
                return Page([])
            if self._tx.dialect == "sqlite":
                return await self._search_sqlite(words, filters, order, page)
            if walks_in_windows(self._tx.dialect, order):
                return await self._search_postgres(words, filters, order, page)
            filters.append(_matches_words(self._tx.dialect, words))

        async def capped_count() -> int:
            return await bounded_count(self._tx, message_rows, filters, SEARCH_TOTAL_LIMIT)

        # Without a phrase a search is a filtered list: its total stays exact.
        total = capped_count if query.phrase else None
        return await fetch_page(self._tx, message_rows, order, page, _message, filters, total=total)

    async def _search_postgres(
        self,
        words: Sequence[str],
        filters: list[ColumnElement[bool]],
        order: KeysetOrder,
        page: PageRequest,
    ) -> Page[Message]:
        """A phrase search on PostgreSQL in (created_at, id) order: counted, then the few
        matches sorted, or the newest messages walked, or time windows searched (`pg_search`)."""
        matches = _matches_words(self._tx.dialect, words)
        async with self._tx.snapshot():  # the total counts the matches the page comes from
            return await search_in_windows(
                self._tx, matches, filters, order, page, _message, SEARCH_TOTAL_LIMIT
            )

    async def _search_sqlite(
        self,
        words: Sequence[str],
        filters: list[ColumnElement[bool]],
        order: KeysetOrder,
        page: PageRequest,
    ) -> Page[Message]:
        """A phrase search on SQLite: newest first by walking the index when it can, else by
        sorting every match; the total counted from the index either way."""
        fts_query = _fts5_query(words)
        async with self._tx.snapshot():  # the total counts the matches the page comes from
            total = await count_matches(self._tx, fts_query, filters, SEARCH_TOTAL_LIMIT)
            if walks_the_index(self._tx.dialect, order):
                found = await search_newest_first(
                    self._tx, fts_query, filters, order, page, _message
                )
                if found is not None:
                    return Page(*found, total)

            async def known_total() -> int:
                return total

            matching = [*filters, _matches_words(self._tx.dialect, words)]
            return await fetch_page(
                self._tx, message_rows, order, page, _message, matching, total=known_total
            )
