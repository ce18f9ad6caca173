"""Upgrade a database to the newest schema revision, programmatically (no alembic.ini).

Safe to call at every start: a database already at head is left untouched, and two processes
migrating the same database at once take turns (a PostgreSQL advisory lock, per schema; on
SQLite, BEGIN IMMEDIATE), so the second finds the work done.

Alembic's own step-by-step log (dialect details, each revision's description, some of which only
concern PostgreSQL) shows at DEBUG; at INFO a start says in one line what changed, if anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from .engine import SQLITE_MANUAL_BEGIN

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_ALEMBIC_LOGGER = "alembic"

log = logging.getLogger(__name__)

# Held until the migration's transaction ends; keyed by schema so that isolated schemas (tests)
# migrate in parallel while two processes on one schema take turns.
POSTGRES_MIGRATION_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtext('onehub.migrate:' || current_schema()))"
)


async def migrate(engine: AsyncEngine) -> None:
    """Upgrade the database behind `engine` to the head revision, in one transaction.

    Errors from the database (unreachable, no permission) propagate unchanged; the transaction is
    rolled back, leaving the previous revision in place where the dialect has transactional DDL.
    """
    async with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection = await connection.execution_options(**{SQLITE_MANUAL_BEGIN: True})
            await connection.begin()
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            await connection.begin()
            await connection.execute(POSTGRES_MIGRATION_LOCK)
        await connection.run_sync(_upgrade)
        await connection.commit()


def _upgrade(connection: Connection) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    with _alembic_quiet_unless_debugging():
        before = _current_revision(connection)
        command.upgrade(config, "head")
        after = _current_revision(connection)
    if after == before:
        return
    if before is None:
        log.info("database schema created (revision %s)", after)
    else:
        log.info("database schema upgraded from revision %s to %s", before, after)


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _alembic_quiet_unless_debugging() -> Iterator[None]:
    alembic_log = logging.getLogger(_ALEMBIC_LOGGER)
    if log.isEnabledFor(logging.DEBUG):
        yield
        return
    previous = alembic_log.level
    alembic_log.setLevel(logging.WARNING)
    try:
        yield
    finally:
        alembic_log.setLevel(previous)


def head_revision() -> str:
    """Return the newest revision id shipped with this package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return str(ScriptDirectory.from_config(config).get_current_head())
