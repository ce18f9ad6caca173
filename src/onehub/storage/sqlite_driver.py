"""aiosqlite under SQLAlchemy, one thread hop per statement.

aiosqlite runs each SQLite connection on a thread of its own; every call the event loop makes on
it is a hop to that thread and back. SQLAlchemy's adapter makes four per statement (open a
cursor, execute, fetch, close) and one more for the ROLLBACK that returns a connection to the
pool, even when no transaction is open: a primary-key SELECT cost five hops, a posted message
eighteen. This adapter runs a statement's whole cursor life in one hop, skips COMMIT and
ROLLBACK when SQLite has no transaction open, and can prefix the next statement with BEGIN
(`begin_with_next_statement`) so a transaction costs no hop of its own.

Private parts it relies on, checked against aiosqlite 0.22.1 and SQLAlchemy 2.0.58
(`CHECKED_AGAINST`, the versions pyproject.toml pins exactly; tests/compat/test_aiosqlite.py
trips, naming the version, when one changes or the single hop stops applying):

- aiosqlite, as SQLAlchemy's own adapter uses them: `Connection._execute` (queue a function for
  the connection's thread and await its result) and `Connection._conn` (the sqlite3 connection,
  touched only on that thread);
- SQLAlchemy's aiosqlite adapter classes, subclassed: the cursor's `await_`, `_adapt_connection`,
  `_connection` and `_rows`, the connection's `_connection` and `_handle_exception`, and the
  `(dbapi, connection)` constructor.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Final

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

CHECKED_AGAINST: Final = {"aiosqlite": "0.22.1", "sqlalchemy": "2.0.58"}

_Outcome = tuple[Any, list[Any], int, int]


def _run(
    connection: aiosqlite.Connection,
    begin: str | None,
    operation: str,
    parameters: Any,
    many: bool,
) -> _Outcome:
    """On the connection's thread: BEGIN if asked, then the statement; (description, rows,
    rowcount, lastrowid)."""
    database: sqlite3.Connection = connection._conn
    if begin is not None:
        database.execute(begin)
    cursor = database.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        if description:
            return description, cursor.fetchall(), -1, -1
        lastrowid = cursor.lastrowid
        return None, [], cursor.rowcount, -1 if lastrowid is None else lastrowid
    finally:
        cursor.close()


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's buffered aiosqlite cursor, each statement one hop to the thread."""

    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._run(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._run(operation, seq_of_parameters, many=True)

    def _run(self, operation: Any, parameters: Any, *, many: bool) -> None:
        adapted = self._adapt_connection
        assert isinstance(adapted, OneHopConnection)
        begin = adapted.take_pending_begin()
        try:
            outcome: _Outcome = self.await_(
                self._connection._execute(
                    _run, self._connection, begin, operation, parameters, many
                )
            )
        except Exception as error:
            adapted._handle_exception(error)
        self.description, rows, self.rowcount, self.lastrowid = outcome
        self._rows.clear()
        self._rows.extend(rows)


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """An adapted aiosqlite connection whose statements, COMMIT and ROLLBACK cost one hop each,
    or none when there is nothing to end."""

    __slots__ = ("_pending_begin",)

    def __init__(self, dbapi: Any, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self._pending_begin: str | None = None

    def begin_with_next_statement(self, begin: str) -> None:
        """Run `begin` (``BEGIN``, ``BEGIN IMMEDIATE``) on the thread just before the next
        statement, in the same hop; its error is that statement's error. COMMIT or ROLLBACK
        first cancels it."""
        self._pending_begin = begin

    def take_pending_begin(self) -> str | None:
        begin, self._pending_begin = self._pending_begin, None
        return begin

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return OneHopCursor(self)

    def rollback(self) -> None:
        self._pending_begin = None
        if self._in_transaction():
            super().rollback()

    def commit(self) -> None:
        self._pending_begin = None
        if self._in_transaction():
            super().commit()

    def _in_transaction(self) -> bool:
        try:
            # sqlite3_get_autocommit(): a flag read, safe while the thread is idle, which it is
            # between two awaited calls of the one task that holds this connection.
            return bool(self._connection.in_transaction)
        except ValueError:  # closed: let the real call report it
            return True


class OneHopDbapi(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module to give `create_async_engine(module=...)` for aiosqlite."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)

    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        adapted = super().connect(*arg, **kw)
        return OneHopConnection(self, adapted._connection)
