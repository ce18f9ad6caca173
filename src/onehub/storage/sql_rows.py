"""Rows of one table by id, for the SQL stores: read, insert, versioned update, delete.

Every table they serve has a text primary key `id`; the versioned ones have an integer `version`
that each update increments, and `created_at`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Row, Select, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.dml import ReturningDelete

from onehub.domain.errors import Aborted, AlreadyExists, NotFound

from .sql_transaction import SqlTransaction

T = TypeVar("T")


# The by-id statements are built once per table and bound per call: SQLAlchemy memoizes a
# statement's cache key on the object, so a reused statement skips building the expression and
# walking it for the compiled-statement cache (a tenth of a GET's CPU in a profile).
@cache
def _select_by_id(table: Table) -> Select[Any]:
    return select(table).where(table.c.id == bindparam("entity_id"))


@cache
def _delete_by_id(table: Table) -> ReturningDelete[Any]:
    return delete(table).where(table.c.id == bindparam("entity_id")).returning(table.c.id)


async def row_by_id(
    tx: SqlTransaction, table: Table, entity_id: str, to_domain: Callable[[Row[Any]], T]
) -> T | None:
    """Return the row with that id as `to_domain` makes it, or None if there is none."""
    row = (await tx.execute(_select_by_id(table), {"entity_id": entity_id})).first()
    return None if row is None else to_domain(row)


async def insert_new(
    tx: SqlTransaction, table: Table, kind: str, values: Mapping[str, Any]
) -> None:
    """Insert one row; raise AlreadyExists naming the `kind` and id if the id is taken (the unit
    of work stays usable)."""
    try:
        async with tx.atomic():
            await tx.execute(insert(table).values(**values), write=True)
    except IntegrityError:
        raise AlreadyExists(f"{kind} {values['id']!r} already exists") from None


async def update_versioned(
    tx: SqlTransaction,
    table: Table,
    kind: str,
    entity_id: str,
    expected_version: int,
    values: Mapping[str, Any],
) -> Row[Any]:
    """Set `values` on the row if its version is `expected_version`, incrementing the version;
    return its (created_at, version). Raise NotFound if the row is gone, Aborted if its version
    differs."""
    statement = (
        update(table)
        .where(table.c.id == entity_id, table.c.version == expected_version)
        .values(**values, version=table.c.version + 1)
        .returning(table.c.created_at, table.c.version)
    )
    row = (await tx.execute(statement, write=True)).first()
    if row is None:
        await raise_missing_or_stale(tx, table, kind, entity_id, expected_version)
    return row


async def delete_by_id(tx: SqlTransaction, table: Table, entity_id: str) -> bool:
    """Delete the row; return False if there was none."""
    answer = await tx.execute(_delete_by_id(table), {"entity_id": entity_id}, write=True)
    return answer.first() is not None


# Well below SQLite's and asyncpg's bound-parameter limits.
_IDS_PER_QUERY = 500


async def rows_by_id(
    tx: SqlTransaction, table: Table, ids: Sequence[str], to_domain: Callable[[Row[Any]], T]
) -> dict[str, T]:
    """Return the rows among `ids` that exist, keyed by id (duplicates and misses ignored)."""
    wanted = list(dict.fromkeys(ids))
    found: dict[str, T] = {}
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        result = await tx.execute(select(table).where(table.c.id.in_(chunk)))
        for row in result.all():
            found[row.id] = to_domain(row)
    return found


async def existing_ids(tx: SqlTransaction, table: Table, ids: Sequence[str]) -> set[str]:
    """Return the ids among `ids` that have a row in `table`."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _IDS_PER_QUERY):
        chunk = wanted[start : start + _IDS_PER_QUERY]
        result = await tx.execute(select(table.c.id).where(table.c.id.in_(chunk)))
        found.update(result.scalars().all())
    return found


async def raise_missing_or_stale(
    tx: SqlTransaction, table: Table, kind: str, entity_id: str, expected_version: int
) -> NoReturn:
    """After an update matched no row: raise NotFound if the row is gone, else Aborted."""
    stored = (
        await tx.execute(select(table.c.version).where(table.c.id == entity_id))
    ).scalar_one_or_none()
    if stored is None:
        raise NotFound(f"{kind} {entity_id!r} not found")
    raise Aborted(
        f"{kind} {entity_id!r} was changed concurrently "
        f"(version {stored}, expected {expected_version}); re-read and retry"
    )
