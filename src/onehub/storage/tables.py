"""The relational schema as SQLAlchemy ORM models (the migrations create the same tables).

Rows never leave the storage package: the stores turn them into domain dataclasses.

Topic membership is a JSON array on the topic row rather than a join table: no port queries
membership across topics, every read wants the whole set, and an update replaces it under the
topic's version check. Measured on the local PostgreSQL 15 (2,000 topics of 20 members): a page
of 100 topics took 0.31 ms as JSON against 2.07 ms with a join table (a second query), and
replacing one topic's members 3.5 ms against 4.7 ms (both mostly the commit's fsync).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from .clock import as_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every dialect, microsecond precision.

    SQLite keeps naive UTC in SQLAlchemy's fixed-width text format, which sorts like the times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


# none_as_null: a missing object is SQL NULL, not the JSON text "null".
# Sort keys compare as code points on every backend: PostgreSQL's "C" collation is what
# SQLite's BINARY and Python's str ordering do, whatever locale the database was created with.
IdColumn = String().with_variant(String(collation="C"), "postgresql")
SortedText = Text().with_variant(Text(collation="C"), "postgresql")
JsonColumn = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
# SQLite makes only a column declared exactly INTEGER PRIMARY KEY an alias of the rowid, which
# the FTS index refers to; PostgreSQL gets a 64-bit identity.
RowIdColumn = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    name: Mapped[str] = mapped_column(Text)
    avatar: Mapped[str] = mapped_column(Text)
    profile_data: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)


class TopicRow(Base):
    __tablename__ = "topics"
    __table_args__ = (Index("ix_topics_name_id", "name", "id"),)

    id: Mapped[str] = mapped_column(IdColumn, primary_key=True)
    creator_id: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(SortedText)
    users: Mapped[list[str]] = mapped_column(JsonColumn)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)


class TopicMessageCountRow(Base):
    """Part of a topic's message count: the count is the sum of its rows' `n`. Kept by
    triggers on messages (migration 0005), exact within every transaction; striped over
    `slot`s so that concurrent writers to one topic do not queue on one row."""

    __tablename__ = "topic_message_counts"

    topic_id: Mapped[str] = mapped_column(
        IdColumn, ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    n: Mapped[int] = mapped_column(BigInteger)


class MessageRow(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_topic_created", "topic_id", "created_at", "id"),
        Index("ix_messages_creator_created", "creator_id", "created_at", "id"),
        Index("ix_messages_created", "created_at", "id"),
    )

    seq: Mapped[int] = mapped_column(RowIdColumn, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(IdColumn, unique=True)
    topic_id: Mapped[str] = mapped_column(IdColumn, ForeignKey("topics.id", ondelete="CASCADE"))
    creator_id: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(Text)
    content_text: Mapped[str] = mapped_column(Text)
    content_data: Mapped[dict[str, Any] | None] = mapped_column(JsonColumn, nullable=True)
    parent_message_id: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    version: Mapped[int] = mapped_column(Integer)


users = cast(Table, UserRow.__table__)
topics = cast(Table, TopicRow.__table__)
messages = cast(Table, MessageRow.__table__)
topic_message_counts = cast(Table, TopicMessageCountRow.__table__)


class ServerSecretRow(Base):
    """A deployment-wide secret, made once (see `storage.secrets`)."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String, primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


server_secrets = cast(Table, ServerSecretRow.__table__)
