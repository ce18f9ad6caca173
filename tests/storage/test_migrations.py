"""migrate(): idempotent, safe when run concurrently, and it creates the full-text objects."""

from __future__ import annotations

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.models import MessageQuery, PageRequest, User
from onehub.storage.engine import SQLITE_MANUAL_BEGIN, create_engine
from onehub.storage.migrate import (
    MIGRATIONS_DIR,
    POSTGRES_MIGRATION_LOCK,
    head_revision,
    migrate,
)
from onehub.storage.tables import Base
from onehub.storage.uow import sql_uow_factory

from .helpers import message, seed, topic

_SCHEMA_QUERIES = {
    "sqlite": "SELECT type, name, sql FROM sqlite_master ORDER BY type, name",
    "postgresql": """
        SELECT 'column', table_name || '.' || column_name,
               data_type || coalesce(generation_expression, '')
        FROM information_schema.columns WHERE table_schema = current_schema()
        UNION ALL
        SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()
        ORDER BY 1, 2
    """,
}


async def _schema(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    async with engine.connect() as connection:
        rows = await connection.execute(text(_SCHEMA_QUERIES[engine.dialect.name]))
        return [tuple(row) for row in rows]


async def _revisions(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list(
            (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars()
        )


async def test_migrating_again_changes_nothing(sql_engine: AsyncEngine) -> None:
    factory = sql_uow_factory(sql_engine)
    async with factory() as uow:
        await uow.users.add(User("u1", "Ann"))
        await uow.commit()
    before = await _schema(sql_engine)
    await migrate(sql_engine)
    assert await _schema(sql_engine) == before
    assert await _revisions(sql_engine) == [head_revision()]
    async with factory() as uow:
        assert await uow.users.get("u1") is not None


async def test_two_processes_migrating_at_once_both_succeed(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        await asyncio.gather(*(migrate(engine) for engine in engines))
        assert await _revisions(engines[0]) == [head_revision()]
        assert "users" in str(await _schema(engines[1]))
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_gets_an_fts5_table_kept_in_sync_by_triggers(sql_engine: AsyncEngine) -> None:
    objects = {(kind, name): sql for kind, name, sql in await _schema(sql_engine)}
    assert "USING fts5" in objects[("table", "messages_fts")]
    assert "content='messages'" in objects[("table", "messages_fts")]
    for trigger in ("messages_fts_insert", "messages_fts_delete", "messages_fts_update"):
        assert ("trigger", trigger) in objects


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_postgres_gets_a_generated_tsvector_with_a_gin_index(
    sql_engine: AsyncEngine,
) -> None:
    objects = {(kind, name): definition for kind, name, definition in await _schema(sql_engine)}
    column = objects[("column", "messages.content_tsv")]
    assert column.startswith("tsvector")
    # Words split at ASCII punctuation first (revision 0002), as SQLite's tokenizer splits them.
    assert "to_tsvector('simple'::regconfig, regexp_replace(content_text" in column
    assert "USING gin (content_tsv)" in objects[("index", "ix_messages_content_tsv")]


async def test_a_migration_waits_for_one_in_progress(database_url: str) -> None:
    holder, migrator = create_engine(database_url), create_engine(database_url)
    try:
        async with holder.connect() as connection:
            # Take the lock a migrating process holds until it commits.
            if holder.dialect.name == "sqlite":
                connection = await connection.execution_options(**{SQLITE_MANUAL_BEGIN: True})
                await connection.begin()
                await connection.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                await connection.begin()
                await connection.execute(POSTGRES_MIGRATION_LOCK)
            waiting = asyncio.create_task(migrate(migrator))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "migrate() did not wait for the migration in progress"
            await connection.rollback()
        await asyncio.wait_for(waiting, timeout=10)
        assert await _revisions(migrator) == [head_revision()]
    finally:
        await holder.dispose()
        await migrator.dispose()


def _is_full_text_object(name: str | None, type_: str, parent_names: object) -> bool:
    return bool(name) and ("messages_fts" in str(name) or "content_tsv" in str(name))


async def test_the_orm_models_match_the_migrated_schema(sql_engine: AsyncEngine) -> None:
    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, type_, parents: (
                    not _is_full_text_object(name, type_, parents)
                ),
            },
        )
        return list(compare_metadata(context, Base.metadata))

    async with sql_engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_upgrading_a_database_with_messages_reindexes_them(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0001")
        factory = sql_uow_factory(engine)
        await seed(factory, topics=[topic("t1")])
        await seed(factory, messages=[message("m1", "t1", "write to alice@example.com")])

        await migrate(engine)

        assert await _revisions(engine) == [head_revision()]
        async with factory() as uow:
            found = await uow.messages.search(MessageQuery("example"), PageRequest())
        assert [m.id for m in found.items] == ["m1"]
    finally:
        await engine.dispose()


async def test_upgrading_a_database_with_messages_counts_each_topic(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade_to, "0003")
        factory = sql_uow_factory(engine)
        # Revision 0003's topics have no message_count column: write them with raw SQL.
        async with engine.begin() as connection:
            for topic_id in ("t1", "t2", "t3"):
                await connection.execute(
                    text(
                        "INSERT INTO topics (id, creator_id, name, users, created_at,"
                        " updated_at, version) VALUES (:id, 'admin', :name, '[]',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                    ),
                    {"id": topic_id, "name": topic_id},
                )
            for i in range(7):
                await connection.execute(
                    text(
                        "INSERT INTO messages (id, topic_id, creator_id, content_type,"
                        " content_text, parent_message_id, created_at, updated_at, version)"
                        " VALUES (:id, :topic, 'admin', 'text', 'hi', '',"
                        " '2026-01-01 00:00:00', '2026-01-01 00:00:00', 1)"
                    ),
                    {"id": f"m{i}", "topic": "t1" if i < 5 else "t2"},
                )

        await migrate(engine)

        assert await _revisions(engine) == [head_revision()]
        async with factory() as uow:
            totals = [
                (await uow.messages.list_in_topic(t, PageRequest(page_size=1))).total
                for t in ("t1", "t2", "t3")
            ]
        assert totals == [5, 2, 0]
        async with engine.connect() as connection:
            stored = await connection.execute(
                text("SELECT topic_id, sum(n) FROM topic_message_counts GROUP BY topic_id")
            )
            assert sorted(tuple(row) for row in stored) == [("t1", 5), ("t2", 2)]
        await seed(factory, messages=[message("m7", "t3")])
        async with factory() as uow:
            assert (await uow.messages.list_in_topic("t3", PageRequest())).total == 1
    finally:
        await engine.dispose()


def _upgrade_to(connection: Connection, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
