"""The deployment's page-key secret: made once per database, the same for every reader, and a
store refuses a cursor with NUL characters whatever signed it (PostgreSQL cannot compare them)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import PageRequest
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.engine import create_engine
from onehub.storage.migrate import migrate
from onehub.storage.secrets import load_secret
from onehub.storage.tables import server_secrets
from tests.conftest import _database_url

from .helpers import seed, topic


async def test_the_secret_is_made_once_and_shared(
    sql_engine: AsyncEngine, database_url: str
) -> None:
    first, second = await asyncio.gather(load_secret(sql_engine), load_secret(sql_engine))
    assert first == second
    assert len(first) == 32
    other_engine = create_engine(database_url)
    try:
        assert await load_secret(other_engine) == first  # another process on the same database
    finally:
        await other_engine.dispose()
    async with sql_engine.connect() as connection:
        rows = (await connection.execute(select(func.count()).select_from(server_secrets))).scalar()
    assert rows == 1


async def test_each_database_has_its_own_secret(
    sql_engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgres"
    async with _database_url(backend, tmp_path / "other") as other_url:
        other = create_engine(other_url)
        try:
            await migrate(other)
            assert await load_secret(other) != await load_secret(sql_engine)
        finally:
            await other.dispose()


def _cursor(scope: str, keys: str, values: list[str]) -> str:
    digest = hashlib.sha256(f"{scope}|{keys}".encode()).hexdigest()[:16]
    raw = json.dumps({"s": digest, "v": values}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize("value", ["\x00", "a\x00b"])
async def test_a_cursor_holding_nul_is_refused_by_every_store(
    uow_factory: UnitOfWorkFactory, value: str
) -> None:
    await seed(uow_factory, topics=[topic("t1")])
    async with uow_factory() as uow:
        with pytest.raises(InvalidArgument, match="page_key"):
            await uow.topics.list(PageRequest(_cursor("topics", "name,id", [value, value]), 2))
        with pytest.raises(InvalidArgument, match="page_key"):
            await uow.users.list(PageRequest(_cursor("users", "id", [value]), 2))
