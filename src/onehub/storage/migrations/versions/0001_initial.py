"""Initial schema: users, topics, messages, and the full-text index of message text.

SQLite gets an FTS5 external-content table over messages.content_text, kept in sync by triggers;
PostgreSQL a generated tsvector column with a GIN index. Both tokenize on letters and digits,
case-insensitively, and keep diacritics, so a search finds the same words on either.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_json = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")
# Sort keys compare as code points, as on SQLite, whatever the database's locale.
_id = sa.String().with_variant(sa.String(collation="C"), "postgresql")
_sorted_text = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
_rowid = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

_SQLITE_FTS = (
    """CREATE VIRTUAL TABLE messages_fts USING fts5(
        content_text, content='messages', content_rowid='seq',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
        INSERT INTO messages_fts(rowid, content_text) VALUES (new.seq, new.content_text);
    END""",
    """CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content_text)
        VALUES ('delete', old.seq, old.content_text);
    END""",
    """CREATE TRIGGER messages_fts_update AFTER UPDATE OF content_text ON messages BEGIN
        INSERT INTO messages_fts(messages_fts, rowid, content_text)
        VALUES ('delete', old.seq, old.content_text);
        INSERT INTO messages_fts(rowid, content_text) VALUES (new.seq, new.content_text);
    END""",
)

_POSTGRES_FTS = (
    """ALTER TABLE messages ADD COLUMN content_tsv tsvector
        GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, content_text)) STORED""",
    "CREATE INDEX ix_messages_content_tsv ON messages USING gin (content_tsv)",
)


def _timestamps() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", _id, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("avatar", sa.Text(), nullable=False),
        sa.Column("profile_data", _json, nullable=True),
        sa.Column("password_hash", sa.Text(), nullable=True),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_table(
        "topics",
        sa.Column("id", _id, nullable=False),
        sa.Column("creator_id", sa.Text(), nullable=False),
        sa.Column("name", _sorted_text, nullable=False),
        sa.Column("users", _json, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name="pk_topics"),
    )
    op.create_index("ix_topics_name_id", "topics", ["name", "id"])
    op.create_table(
        "messages",
        sa.Column("seq", _rowid, autoincrement=True, nullable=False),
        sa.Column("id", _id, nullable=False),
        sa.Column("topic_id", _id, nullable=False),
        sa.Column("creator_id", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("content_text", sa.Text(), nullable=False),
        sa.Column("content_data", _json, nullable=True),
        sa.Column("parent_message_id", sa.Text(), nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("seq", name="pk_messages"),
        sa.UniqueConstraint("id", name="uq_messages_id"),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name="fk_messages_topic_id_topics",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_messages_topic_created", "messages", ["topic_id", "created_at", "id"])
    op.create_index("ix_messages_creator_created", "messages", ["creator_id", "created_at", "id"])
    op.create_index("ix_messages_created", "messages", ["created_at", "id"])

    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": _SQLITE_FTS, "postgresql": _POSTGRES_FTS}.get(dialect, ()):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS messages_fts")
    op.drop_table("messages")
    op.drop_table("topics")
    op.drop_table("users")
