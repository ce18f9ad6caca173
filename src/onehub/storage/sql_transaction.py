"""The one connection and transaction behind a SQL unit of work, and its error translation.

PostgreSQL runs each unit of work in one READ COMMITTED transaction. SQLite reads in autocommit
mode until the unit's first write, which issues BEGIN IMMEDIATE (so the writer holds SQLite's
single write lock from its first write to its commit, and never fails on a stale snapshot); that
gives SQLite at least PostgreSQL's read-committed guarantees, while readers never wait for
writers. A lock not granted in time, a deadlock or a serialization failure becomes Aborted.

SQLite writers of one engine also queue on an asyncio lock before BEGIN IMMEDIATE. SQLite's own
busy handler polls with growing sleeps (up to 100 ms) and is not fair, so under concurrent
writes some waited over a second while others went straight through (POST message p99 937 ms
in the benchmark); queueing in order brought p99 to 99-139 ms at the same throughput. The busy
timeout still covers writers in other processes; with several worker processes, writers also
take turns across processes on a file lock first (sqlite_writer_lock.py), a bounded wait.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from sqlalchemy import Executable, Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from onehub.domain.errors import Aborted
from onehub.services.faults import FaultSwitchboard

from .engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_MANUAL_BEGIN, sqlite_writer_lock
from .faults import wait_statement
from .sqlite_writer_lock import SqliteWriterLock

# lock_not_available, serialization_failure, deadlock_detected
_RETRYABLE_SQLSTATES = frozenset({"55P03", "40001", "40P01"})

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

_sqlite_writer_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


def _writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    lock = _sqlite_writer_locks.get(engine.sync_engine)
    if lock is None:
        lock = _sqlite_writer_locks[engine.sync_engine] = asyncio.Lock()
    return lock


class SqlTransaction:
    """Owns one pooled connection for the life of a unit of work."""

    def __init__(self, engine: AsyncEngine, faults: FaultSwitchboard | None = None) -> None:
        self._engine = engine
        self._faults = faults
        self._is_sqlite = engine.dialect.name == "sqlite"
        self._connection: AsyncConnection | None = None
        self._writing = False
        self._writer_lock: asyncio.Lock | None = None
        self._process_lock: SqliteWriterLock | None = None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def open(self) -> None:
        connection = await self._engine.connect()
        if self._is_sqlite:
            connection = await connection.execution_options(**{SQLITE_MANUAL_BEGIN: True})
        self._connection = connection

    async def close(self) -> None:
        """Roll back whatever was not committed and return the connection to the pool."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        self._writing = False
        try:
            # close() rolls back an open transaction itself and tells the pool that the
            # connection needs no reset: one ROLLBACK round trip instead of two.
            await connection.close()
        finally:
            self._release_writer_lock()

    async def commit(self) -> None:
        connection = self._require()
        try:
            await connection.commit()
        except DBAPIError as error:
            _raise_translated(error)
        finally:
            self._writing = False
            self._release_writer_lock()

    async def execute(
        self, statement: Executable, params: Params = None, *, write: bool = False
    ) -> Result[Any]:
        """Run one statement; `write=True` for statements that change data."""
        connection = self._require()
        try:
            if write:
                await self._begin_writing(connection)
            delay = self._faults.db_delay() if self._faults is not None else 0.0
            if delay:
                await connection.execute(*wait_statement(self.dialect, delay))
            return await connection.execute(statement, params)
        except DBAPIError as error:
            _raise_translated(error)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """Undo only the block's changes if it raises, keeping the transaction usable."""
        connection = self._require()
        try:
            await self._begin_writing(connection)
            # Awaiting begin_nested() issues the SAVEPOINT; `async with` on the result would
            # start the transaction again (a second SAVEPOINT), so it is ended by hand.
            nested = await connection.begin_nested()
        except DBAPIError as error:
            _raise_translated(error)
        try:
            yield
        except BaseException:
            if nested.is_active:
                await nested.rollback()
            raise
        try:
            await nested.commit()
        except DBAPIError as error:
            _raise_translated(error)

    async def _begin_writing(self, connection: AsyncConnection) -> None:
        if self._is_sqlite and not self._writing:
            if self._writer_lock is None:
                lock = _writer_lock(self._engine)
                try:
                    await asyncio.wait_for(lock.acquire(), SQLITE_BUSY_TIMEOUT_MS / 1000)
                except TimeoutError:
                    raise Aborted("the database is busy with another write; retry") from None
                self._writer_lock = lock
            shared = sqlite_writer_lock(self._engine)
            if shared is not None and self._process_lock is None:
                if not await shared.acquire(SQLITE_BUSY_TIMEOUT_MS / 1000):
                    self._release_writer_lock()
                    raise Aborted("the database is busy with another write; retry")
                self._process_lock = shared
            await connection.exec_driver_sql("BEGIN IMMEDIATE")
            self._writing = True

    def _release_writer_lock(self) -> None:
        if self._process_lock is not None:
            process_lock, self._process_lock = self._process_lock, None
            process_lock.release()
        if self._writer_lock is not None:
            lock, self._writer_lock = self._writer_lock, None
            lock.release()

    def _require(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("use the unit of work inside 'async with'")
        return self._connection


def _raise_translated(error: DBAPIError) -> NoReturn:
    original = error.orig
    if isinstance(original, sqlite3.OperationalError) and str(
        getattr(original, "sqlite_errorname", "")
    ).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        raise Aborted("the database is busy with another write; retry") from error
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        raise Aborted("a concurrent transaction conflicted with this one; retry") from error
    raise error
