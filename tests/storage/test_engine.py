"""Database URLs: the accepted forms, clear refusals without secrets, connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from onehub.storage.engine import SQLITE_BUSY_TIMEOUT_MS, create_engine, parse_database_url
from onehub.storage.errors import StorageConfigError


@pytest.mark.parametrize(
    ("url", "driver", "database"),
    [
        ("sqlite:///.data/onehub.db", "sqlite+aiosqlite", ".data/onehub.db"),
        ("sqlite:////var/lib/onehub/db.sqlite", "sqlite+aiosqlite", "/var/lib/onehub/db.sqlite"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite", "x.db"),
        ("postgres://u:pw@db.example:5432/onehubdb", "postgresql+asyncpg", "onehubdb"),
        ("postgresql://u:pw@db.example:5432/onehubdb", "postgresql+asyncpg", "onehubdb"),
        ("postgresql+asyncpg://u@db.example/onehubdb", "postgresql+asyncpg", "onehubdb"),
        ("postgresql+psycopg2://u@db.example/onehubdb", "postgresql+asyncpg", "onehubdb"),
    ],
)
def test_accepted_urls_map_to_async_drivers(url: str, driver: str, database: str) -> None:
    parsed = parse_database_url(url)
    assert parsed.drivername == driver
    assert parsed.database == database


def test_the_go_projects_postgres_url_keeps_every_part() -> None:
    parsed = parse_database_url(
        "postgres://postgres:docker@localhost:5432/onehubdb?sslmode=disable"
    )
    assert (parsed.username, parsed.password, parsed.host, parsed.port) == (
        "postgres",
        "docker",
        "localhost",
        5432,
    )
    assert parsed.query == {"sslmode": "disable"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("", "invalid database URL"),
        ("just some words", "invalid database URL"),
        ("postgresql://u:s3cret@host:notaport/db", "invalid database URL"),
        ("mysql://u:s3cret@host/db", "unsupported database 'mysql'"),
        ("oracle+cx_oracle://u:s3cret@host/db", "unsupported database 'oracle'"),
        ("postgresql+pg8000://u:s3cret@host/db", "unsupported PostgreSQL driver"),
        ("sqlite+pysqlcipher://:s3cret@/x.db", "unsupported SQLite driver"),
        ("postgres://u:s3cret@host:5432/", "names no database"),
        ("sqlite://", "needs a file path"),
        ("sqlite:///:memory:", "needs a file path"),
        ("postgresql://u:s3cret@host/db?options=-x%20junk", "invalid options"),
    ],
)
def test_unusable_urls_get_one_clear_line_without_the_password(url: str, reason: str) -> None:
    with pytest.raises(StorageConfigError, match=reason) as caught:
        create_engine(url)
    message = str(caught.value)
    assert "s3cret" not in message
    assert "\n" not in message


def test_sqlite_directory_that_cannot_be_made_is_a_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageConfigError, match="cannot create the directory"):
        create_engine(f"sqlite:///{blocker / 'sub' / 'x.db'}")


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dirs" / "onehub.db"
    engine = create_engine(f"sqlite:///{path}")
    try:
        async with engine.connect() as connection:
            journal = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            foreign_keys = (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await connection.execute(text("PRAGMA busy_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert path.is_file()
    assert (journal, foreign_keys, busy) == ("wal", 1, SQLITE_BUSY_TIMEOUT_MS)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_go_style_postgres_url_connects_with_its_options(database_url: str) -> None:
    schema = database_url.rpartition("search_path%3D")[2]
    go_style = "postgres://" + database_url.removeprefix("postgresql://") + "&sslmode=disable"
    engine = create_engine(go_style)
    try:
        async with engine.connect() as connection:
            search_path = (await connection.execute(text("SHOW search_path"))).scalar_one()
            ssl = (
                await connection.execute(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert search_path == schema
    assert ssl is False
