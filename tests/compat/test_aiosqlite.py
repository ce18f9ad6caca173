"""Tripwires for the private parts of aiosqlite and SQLAlchemy's aiosqlite adapter that
onehub/storage/sqlite_driver.py uses: the names are there with the shapes it calls, and a
statement through OneHub's engine really costs one hop to the connection's thread."""

from __future__ import annotations

import inspect
import sqlite3
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
)

from onehub.storage.engine import create_engine
from onehub.storage.sql_transaction import SqlTransaction

from .tripwire import check, parameters

AIOSQLITE = "aiosqlite"
SQLALCHEMY = "sqlalchemy"
COMPAT = "onehub/storage/sqlite_driver.py"


def test_connection_execute_queues_a_function_for_the_thread() -> None:
    execute = getattr(aiosqlite.Connection, "_execute", None)
    check(execute is not None, AIOSQLITE, COMPAT, "aiosqlite.Connection._execute to exist")
    check(
        inspect.iscoroutinefunction(execute),
        AIOSQLITE,
        COMPAT,
        "Connection._execute to be a coroutine function",
    )
    check(
        parameters(execute)[:2]
        == [("self", "POSITIONAL_OR_KEYWORD"), ("fn", "POSITIONAL_OR_KEYWORD")]
        and ("args", "VAR_POSITIONAL") in parameters(execute),
        AIOSQLITE,
        COMPAT,
        f"Connection._execute(self, fn, *args, **kwargs), found {parameters(execute)}",
    )


async def test_an_open_connection_holds_its_sqlite3_connection_as_conn(tmp_path: Path) -> None:
    async with aiosqlite.connect(tmp_path / "tripwire.db") as connection:
        inner = getattr(connection, "_conn", None)
        check(
            isinstance(inner, sqlite3.Connection),
            AIOSQLITE,
            COMPAT,
            f"Connection._conn to be the sqlite3.Connection, found {type(inner).__name__}",
        )
        # `_execute` runs the function on the connection's thread with the arguments given.
        answer = await connection._execute(
            lambda c: c._conn.execute("SELECT 41 + 1").fetchone(), connection
        )
        check(answer == (42,), AIOSQLITE, COMPAT, f"_execute to return fn's result, got {answer}")


def test_the_adapter_classes_keep_the_members_the_subclasses_use() -> None:
    for cls, members in (
        (AsyncAdapt_aiosqlite_cursor, ("await_", "_adapt_connection", "_connection", "_rows")),
        (AsyncAdapt_aiosqlite_connection, ("_connection", "_handle_exception", "await_")),
    ):
        slots = {name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())}
        missing = [m for m in members if m not in slots and not hasattr(cls, m)]
        check(missing == [], SQLALCHEMY, COMPAT, f"{cls.__name__} to have {missing}")
    check(
        [name for name, _ in parameters(AsyncAdapt_aiosqlite_connection.__init__)][:3]
        == ["self", "dbapi", "connection"],
        SQLALCHEMY,
        COMPAT,
        "AsyncAdapt_aiosqlite_connection(dbapi, connection)",
    )


async def test_a_read_through_the_storage_is_one_hop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'hops.db'}")
    try:
        warm = SqlTransaction(engine)  # the pool opens its connection: not counted
        await warm.open()
        await warm.close()
        hops = 0
        hop = aiosqlite.Connection._execute

        async def counted(self: aiosqlite.Connection, *args: Any, **kwargs: Any) -> Any:
            nonlocal hops
            hops += 1
            return await hop(self, *args, **kwargs)

        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        unit = SqlTransaction(engine)
        await unit.open()
        try:
            rows = (await unit.execute(text("SELECT 2"))).all()
        finally:
            await unit.close()
        read_hops = hops  # before dispose(), which closes the pooled connection with a hop
    finally:
        await engine.dispose()
    assert rows == [(2,)]
    check(
        read_hops == 1,
        AIOSQLITE,
        COMPAT,
        f"one thread hop for a read and the connection's return to the pool, counted {read_hops}",
    )
