"""A topic's message count lives in striped rows, so writers to one topic do not queue on it.

Revision 0004 kept the count in `topics.message_count`, updated by a trigger inside every write
transaction: on PostgreSQL each transaction adding a message to a topic held that topic's row
lock until it committed, so concurrent writers to one busy topic (from any worker or replica)
took turns, and a second worker added nothing to the throughput of posting into one topic.

The count is now the sum of a topic's rows in `topic_message_counts` (topic, slot, n). On
PostgreSQL an insert adds to the slot of its own server process (`pg_backend_pid() % 16`), so
concurrent writers on different connections mostly touch different rows; a delete (or a move to
another topic) subtracts from one existing row of the topic, its own slot when it has one. The
sum stays exact within every transaction, as before. SQLite admits one writer at a time anyway:
it uses slot 0 only. The rows go with their topic (ON DELETE CASCADE).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SLOTS = 16

_SQLITE_TRIGGERS = {
    "messages_count_insert": """CREATE TRIGGER messages_count_insert AFTER INSERT ON messages
        BEGIN
            INSERT INTO topic_message_counts (topic_id, slot, n) VALUES (new.topic_id, 0, 1)
                ON CONFLICT (topic_id, slot) DO UPDATE SET n = n + 1;
        END""",
    "messages_count_delete": """CREATE TRIGGER messages_count_delete AFTER DELETE ON messages
        BEGIN
            UPDATE topic_message_counts SET n = n - 1 WHERE topic_id = old.topic_id AND slot = 0;
        END""",
    "messages_count_move": """CREATE TRIGGER messages_count_move
        AFTER UPDATE OF topic_id ON messages WHEN old.topic_id IS NOT new.topic_id
        BEGIN
            UPDATE topic_message_counts SET n = n - 1 WHERE topic_id = old.topic_id AND slot = 0;
            INSERT INTO topic_message_counts (topic_id, slot, n) VALUES (new.topic_id, 0, 1)
                ON CONFLICT (topic_id, slot) DO UPDATE SET n = n + 1;
        END""",
}

# The slot a PostgreSQL server process adds to; topics in id order, so two batches spanning
# the same topics lock their rows in one order.
_PG_SLOT = f"(pg_backend_pid() % {SLOTS})::smallint"
# One existing row of the topic to subtract from: this process's slot if the topic has it.
_PG_ONE_ROW = f"""(SELECT s.slot FROM topic_message_counts AS s WHERE s.topic_id = {{topic}}
            ORDER BY s.slot = {_PG_SLOT} DESC, s.slot LIMIT 1)"""

_POSTGRES_FUNCTIONS = {
    "onehub_count_inserted": f"""CREATE OR REPLACE FUNCTION onehub_count_inserted()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            INSERT INTO topic_message_counts AS c (topic_id, slot, n)
                SELECT topic_id, {_PG_SLOT}, count(*) FROM inserted
                GROUP BY topic_id ORDER BY topic_id
            ON CONFLICT (topic_id, slot) DO UPDATE SET n = c.n + excluded.n;
            RETURN NULL;
        END $$""",
    "onehub_count_deleted": f"""CREATE OR REPLACE FUNCTION onehub_count_deleted()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topic_message_counts AS c SET n = c.n - removed.n
            FROM (SELECT topic_id, count(*) AS n FROM deleted GROUP BY topic_id) AS removed
            WHERE c.topic_id = removed.topic_id
                AND c.slot = {_PG_ONE_ROW.format(topic="removed.topic_id")};
            RETURN NULL;
        END $$""",
    "onehub_count_moved": f"""CREATE OR REPLACE FUNCTION onehub_count_moved()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topic_message_counts AS c SET n = c.n - 1
            WHERE c.topic_id = OLD.topic_id AND c.slot = {_PG_ONE_ROW.format(topic="OLD.topic_id")};
            INSERT INTO topic_message_counts AS c (topic_id, slot, n)
                VALUES (NEW.topic_id, {_PG_SLOT}, 1)
            ON CONFLICT (topic_id, slot) DO UPDATE SET n = c.n + 1;
            RETURN NULL;
        END $$""",
}

# Revision 0004's bodies, for downgrade.
_POSTGRES_COLUMN_FUNCTIONS = {
    "onehub_count_inserted": """CREATE OR REPLACE FUNCTION onehub_count_inserted()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = topics.message_count + added.n
            FROM (SELECT topic_id, count(*) AS n FROM inserted GROUP BY topic_id) AS added
            WHERE topics.id = added.topic_id;
            RETURN NULL;
        END $$""",
    "onehub_count_deleted": """CREATE OR REPLACE FUNCTION onehub_count_deleted()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = topics.message_count - removed.n
            FROM (SELECT topic_id, count(*) AS n FROM deleted GROUP BY topic_id) AS removed
            WHERE topics.id = removed.topic_id;
            RETURN NULL;
        END $$""",
    "onehub_count_moved": """CREATE OR REPLACE FUNCTION onehub_count_moved()
        RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE topics SET message_count = message_count - 1 WHERE id = OLD.topic_id;
            UPDATE topics SET message_count = message_count + 1 WHERE id = NEW.topic_id;
            RETURN NULL;
        END $$""",
}

_SQLITE_COLUMN_TRIGGERS = {
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


def _install_counting(postgres_functions: dict[str, str], sqlite_triggers: dict[str, str]) -> None:
    """Replace the counting code: PostgreSQL's trigger functions (the triggers stay), or
    SQLite's triggers (dropped and made again)."""
    if op.get_bind().dialect.name == "postgresql":
        for statement in postgres_functions.values():
            op.execute(statement)
        return
    for name, statement in sqlite_triggers.items():
        op.execute(f"DROP TRIGGER {name}")
        op.execute(statement)


def upgrade() -> None:
    op.create_table(
        "topic_message_counts",
        sa.Column(
            "topic_id",
            sa.String().with_variant(sa.String(collation="C"), "postgresql"),
            nullable=False,
        ),
        sa.Column("slot", sa.SmallInteger(), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("topic_id", "slot", name="pk_topic_message_counts"),
        sa.ForeignKeyConstraint(
            ["topic_id"],
            ["topics.id"],
            name="fk_topic_message_counts_topic_id_topics",
            ondelete="CASCADE",
        ),
    )
    op.execute(
        "INSERT INTO topic_message_counts (topic_id, slot, n)"
        " SELECT id, 0, message_count FROM topics WHERE message_count <> 0"
    )
    _install_counting(_POSTGRES_FUNCTIONS, _SQLITE_TRIGGERS)
    op.drop_column("topics", "message_count")


def downgrade() -> None:
    op.add_column(
        "topics",
        sa.Column("message_count", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.execute(
        "UPDATE topics SET message_count = (SELECT coalesce(sum(n), 0)"
        " FROM topic_message_counts WHERE topic_message_counts.topic_id = topics.id)"
    )
    _install_counting(_POSTGRES_COLUMN_FUNCTIONS, _SQLITE_COLUMN_TRIGGERS)
    op.drop_table("topic_message_counts")
