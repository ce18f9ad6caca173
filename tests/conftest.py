"""Fixtures shared by every test package.

Databases (each test gets its own, so tests run in parallel under pytest-xdist):

- `database_url` (str), parametrized ``sqlite`` / ``postgres``: the URL of an empty database.
  SQLite: a file in the test's tmp_path. PostgreSQL: a fresh schema in the server's ``test``
  database, selected by the URL (``...?options=-c%20search_path%3D<schema>``, which
  `onehub.storage.engine.create_engine` understands), dropped after the test. Not migrated.
- `sql_engine` (AsyncEngine): an engine on `database_url`, migrated to head, disposed after.
- `uow_factory` (UnitOfWorkFactory), parametrized ``memory`` / ``sqlite`` / ``postgres``: units
  of work over an empty, migrated store; the one fixture a service or transport test needs to run
  against every backend.

PostgreSQL is the server on 127.0.0.1:5432 (user postgres, trust auth, database test), or the
one `ONEHUB_TEST_POSTGRES_URL` names; `scripts/setup_test_machine.py` (run by `make test`)
starts it. If it is not accepting connections the test fails loudly, naming that command: a
missing database is an error, never a skip. Its parameters carry the `postgres` marker, so
``-m "not postgres"`` deselects them explicitly.

Measured here: a schema per test costs 18 ms (create, connect, drop) plus 80 ms when migrated;
a database per test cloned from a migrated template cost 89-119 ms, so schemas it is.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.engine import create_engine
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.storage.migrate import migrate
from onehub.storage.uow import sql_uow_factory
from tests.debian_packages import SETUP_COMMAND

POSTGRES_URL = os.environ.get(
    "ONEHUB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)

SQL_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ALL_BACKENDS = ["memory", *SQL_BACKENDS]


async def _can_connect() -> bool:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await connection.close()
    return True


async def _wait_for_postgres() -> None:
    if await _can_connect():
        return
    pytest.fail(
        f"PostgreSQL at {POSTGRES_URL} is not accepting connections: "
        f"run `{SETUP_COMMAND}` (make test does)",
        pytrace=False,
    )


_postgres_checked = False


@asynccontextmanager
async def _postgres_schema_url() -> AsyncIterator[str]:
    global _postgres_checked
    if not _postgres_checked:
        await _wait_for_postgres()
        _postgres_checked = True
    schema = f"test_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield f"{POSTGRES_URL}?options={quote(f'-c search_path={schema}')}"
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


@asynccontextmanager
async def _database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'onehub.db'}"
    else:
        async with _postgres_schema_url() as url:
            yield url


@pytest.fixture(params=SQL_BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with _database_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
async def sql_engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    try:
        await migrate(engine)
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=ALL_BACKENDS)
async def uow_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[UnitOfWorkFactory]:
    if request.param == "memory":
        yield memory_uow_factory(InMemoryDatabase())
        return
    async with _database_url(request.param, tmp_path) as url:
        engine = create_engine(url)
        try:
            await migrate(engine)
            yield sql_uow_factory(engine)
        finally:
            await engine.dispose()
