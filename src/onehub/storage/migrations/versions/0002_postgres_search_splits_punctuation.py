"""PostgreSQL's search index splits words at ASCII punctuation, as SQLite's tokenizer does.

PostgreSQL's text-search parser reads `alice@example.com`, `docs.example.org/a/b`, `v1.2.3` and
`3.14` as single tokens, so a search for `example` found the message on SQLite but not on
PostgreSQL. The tsvector is now built from the text with ASCII punctuation turned into spaces;
letters and digits of every script pass through to the parser as before. SQLite is unchanged.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SPLIT = r"to_tsvector('simple'::regconfig, regexp_replace(content_text, '[[:punct:]]', ' ', 'g'))"
_WHOLE = "to_tsvector('simple'::regconfig, content_text)"


def _rebuild(expression: str) -> None:
    op.execute("DROP INDEX IF EXISTS ix_messages_content_tsv")
    op.execute("ALTER TABLE messages DROP COLUMN content_tsv")
    op.execute(
        "ALTER TABLE messages ADD COLUMN content_tsv tsvector"
        f" GENERATED ALWAYS AS ({expression}) STORED"
    )
    op.execute("CREATE INDEX ix_messages_content_tsv ON messages USING gin (content_tsv)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(_SPLIT)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _rebuild(_WHOLE)
