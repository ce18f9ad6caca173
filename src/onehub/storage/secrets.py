"""The deployment's secrets, kept in the database so every replica shares them across restarts."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from .tables import server_secrets

PAGE_KEY_SECRET = "page_key"
_SECRET_BYTES = 32


async def load_secret(engine: AsyncEngine, name: str = PAGE_KEY_SECRET) -> bytes:
    """Return the secret `name` of the (migrated) database, making a random one on first use.

    Replicas starting at once all get the same secret: the first insert wins, the others' are
    ignored, and everyone reads back what was stored.
    """
    insert = postgres_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(server_secrets)
        .values(name=name, value=secrets.token_bytes(_SECRET_BYTES))
        .on_conflict_do_nothing(index_elements=["name"])
    )
    async with engine.begin() as connection:
        await connection.execute(statement)
        stored = await connection.execute(
            select(server_secrets.c.value).where(server_secrets.c.name == name)
        )
        return bytes(stored.scalar_one())
