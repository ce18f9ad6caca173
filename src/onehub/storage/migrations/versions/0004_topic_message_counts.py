"""Each topic keeps the number of its messages, so a page of a topic never counts the topic.

`topics.message_count` is maintained by triggers on `messages` (insert, delete, and an update
that moves a message to another topic), inside the transaction of the write, so it is exact for
every reader that sees that write. Existing rows are counted once, here. A topic's list reads
its total from this column instead of running COUNT(*) over its messages, which took 52 ms at a
million messages on SQLite.

PostgreSQL counts inserts and deletes per statement (transition tables), so a batch of messages
updates each topic once; SQLite has only row triggers.

SQLite also gets `messages_fts_out_of_order`: the messages that were stored after a message that
sorts later by (created_at, id), found by a trigger on insert (and, for existing rows, here).
Every other message's rowid follows (created_at, id), so a newest-first search can walk the FTS
index by descending rowid and stop after a page, and only this (normally small) set needs to be
looked at apart; see `storage/sql_search.py`.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = {
    "messages_count_insert": """CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
        BEGIN
            UPDATE topics SET message_count = message_count + 1 WHERE id = new.topic_id;
        END""",
    "messages_count_delete": """CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
        BEGIN
            UPDATE topics SET message_count = message_count - 1 WHERE id = old.topic_id;
        END""",
    "messages_count_move": """CREATE TRIGGER messages_count_move
        AFTER UPDATE OF topic_id ON messages WHEN old.topic_id IS NOT new.topic_id
        BEGIN
            UPDATE topics SET message_count = message_count - 1 WHERE id = old.topic_id;
            UPDATE topics SET message_count = message_count + 1 WHERE id = new.topic_id;
        END""",
}

_SQLITE_ORDER = (
    "CREATE TABLE messages_fts_out_of_order (seq INTEGER PRIMARY KEY)",
    # created_at is fixed-width text on SQLite, so created_at || id compares as the pair does.
    """INSERT INTO messages_fts_out_of_order (seq)
        SELECT seq FROM (
            SELECT seq, created_at || id AS sort_key,
                   max(created_at || id) OVER (
                       ORDER BY seq ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
                   ) AS earlier_max
            FROM messages
        ) WHERE sort_key < earlier_max""",
    """CREATE TRIGGER messages_order_insert AFTER INSERT ON messages
        WHEN EXISTS (SELECT 1 FROM messages WHERE (created_at, id) > (new.created_at, new.id))
        BEGIN
            INSERT INTO messages_fts_out_of_order (seq) VALUES (new.seq);
        END""",
    """CREATE TRIGGER messages_order_delete AFTER DELETE ON messages
        BEGIN
            DELETE FROM messages_fts_out_of_order WHERE seq = old.seq;
        END""",
)

_POSTGRES_FUNCTIONS = {
    "onehub_count_inserted": """CREATE FUNCTION onehub_count_inserted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = topics.message_count + added.n
            FROM (SELECT topic_id, count(*) AS n FROM inserted GROUP BY topic_id) AS added
            WHERE topics.id = added.topic_id;
            RETURN NULL;
        END $$""",
    "onehub_count_deleted": """CREATE FUNCTION onehub_count_deleted() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = topics.message_count - removed.n
            FROM (SELECT topic_id, count(*) AS n FROM deleted GROUP BY topic_id) AS removed
            WHERE topics.id = removed.topic_id;
            RETURN NULL;
        END $$""",
    "onehub_count_moved": """CREATE FUNCTION onehub_count_moved() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = message_count - 1 WHERE id = OLD.topic_id;
            UPDATE topics SET message_count = message_count + 1 WHERE id = NEW.topic_id;
            RETURN NULL;
        END $$""",
}

_POSTGRES_TRIGGERS = {
    "messages_count_insert": """CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
        REFERENCING NEW TABLE AS inserted
        FOR EACH STATEMENT EXECUTE FUNCTION onehub_count_inserted()""",
    "messages_count_delete": """CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
        REFERENCING OLD TABLE AS deleted
        FOR EACH STATEMENT EXECUTE FUNCTION onehub_count_deleted()""",
    "messages_count_move": """CREATE TRIGGER messages_count_move
        AFTER UPDATE OF topic_id ON messages FOR EACH ROW
        WHEN (OLD.topic_id IS DISTINCT FROM NEW.topic_id)
        EXECUTE FUNCTION onehub_count_moved()""",
}


def upgrade() -> None:
    op.add_column(
        "topics",
        sa.Column("message_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE topics SET message_count ="
        " (SELECT count(*) FROM messages WHERE messages.topic_id = topics.id)"
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in (*_POSTGRES_FUNCTIONS.values(), *_POSTGRES_TRIGGERS.values()):
            op.execute(statement)
    else:
        for statement in (*_SQLITE_TRIGGERS.values(), *_SQLITE_ORDER):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for name in _POSTGRES_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON messages")
        for name in _POSTGRES_FUNCTIONS:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in (*_SQLITE_TRIGGERS, "messages_order_insert", "messages_order_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS messages_fts_out_of_order")
    op.execute("ALTER TABLE topics DROP COLUMN message_count")
