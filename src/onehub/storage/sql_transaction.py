"""The one connection and transactions behind a SQL unit of work, and its error translation.

A unit of work reads in autocommit mode until its first write: a read is one statement (on
PostgreSQL one round trip, on SQLite one hop to the connection's thread), with no BEGIN and no
ROLLBACK around it. The first write opens the transaction: READ COMMITTED on PostgreSQL, BEGIN
IMMEDIATE on SQLite (so the writer holds SQLite's single write lock from its first write to its
commit, and never fails on a stale snapshot). Reads before the first write lose nothing by
running outside it: a READ COMMITTED transaction gives each statement its own snapshot and takes
no lock for a plain SELECT either. Readers never wait for writers. A lock not granted in time, a
deadlock or a serialization failure becomes Aborted.

Reads that must agree with one another (a page and its total) run in `snapshot()`: one
REPEATABLE READ READ ONLY transaction on PostgreSQL, a deferred one (one WAL snapshot) on SQLite;
inside a write transaction they simply share it. `atomic()` undoes a block that fails and keeps
the unit usable: when the block opens the transaction, by rolling the transaction back (nothing
else is in it); after an earlier write, with a SAVEPOINT.

On SQLite, BEGIN rides with the statement that follows it (`sqlite_driver`), so a write's lock
wait shows in that statement's span.

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
from contextlib import asynccontextmanager, suppress
from typing import Any, NoReturn

from sqlalchemy import Executable, Result
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import PoolProxiedConnection

from onehub.domain.errors import Aborted
from onehub.services.faults import FaultSwitchboard

from .engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_MANUAL_BEGIN, sqlite_writer_lock
from .faults import wait_statement
from .sqlite_driver import OneHopConnection
from .sqlite_writer_lock import SqliteWriterLock

# lock_not_available, serialization_failure, deadlock_detected
_RETRYABLE_SQLSTATES = frozenset({"55P03", "40001", "40P01"})

_AUTOCOMMIT = "AUTOCOMMIT"
_WRITE_ISOLATION = "READ COMMITTED"

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

_sqlite_writer_locks: weakref.WeakKeyDictionary[object, asyncio.Lock] = weakref.WeakKeyDictionary()


_reading_engines: weakref.WeakKeyDictionary[object, AsyncEngine] = weakref.WeakKeyDictionary()


def _reading_engine(engine: AsyncEngine) -> AsyncEngine:
    """`engine` whose connections start in the unit of work's reading mode (SQLite: BEGIN only
    by hand; PostgreSQL: autocommit). Made once per engine and sharing its pool, so a unit of
    work does not pay for setting the mode on every connection it checks out."""
    reading = _reading_engines.get(engine.sync_engine)
    if reading is None:
        if engine.dialect.name == "sqlite":
            reading = engine.execution_options(**{SQLITE_MANUAL_BEGIN: True})
        else:
            reading = engine.execution_options(isolation_level=_AUTOCOMMIT)
        _reading_engines[engine.sync_engine] = reading
    return reading


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
        self._in_snapshot = False
        self._writer_lock: asyncio.Lock | None = None
        self._process_lock: SqliteWriterLock | None = None

    @property
    def dialect(self) -> str:
        return self._engine.dialect.name

    async def open(self) -> None:
        self._connection = await _reading_engine(self._engine).connect()

    async def close(self) -> None:
        """Roll back whatever was not committed and return the connection to the pool."""
        if self._connection is None:
            return
        connection, self._connection = self._connection, None
        self._writing = self._in_snapshot = False
        try:
            # close() rolls back an open transaction itself (nothing to do in autocommit mode)
            # and tells the pool that the connection needs no reset.
            await connection.close()
        finally:
            self._release_writer_lock()

    async def commit(self) -> None:
        """Commit the write transaction, if a write opened one; reads need no COMMIT."""
        connection = self._require()
        if not self._writing:
            return
        try:
            await connection.commit()
        except DBAPIError as error:
            await self._abandon_write()
            _raise_translated(error)
        await self._end_writing(connection)

    async def execute(
        self, statement: Executable, params: Params = None, *, write: bool = False
    ) -> Result[Any]:
        """Run one statement; `write=True` for statements that change data. A failed write
        that opened the transaction rolls it back (the unit stays usable)."""
        connection = self._require()
        opens = write and not self._writing
        if opens:
            if self._in_snapshot:
                raise RuntimeError("a snapshot() block only reads")
            await self._begin_writing(connection)
        try:
            delay = self._faults.db_delay() if self._faults is not None else 0.0
            if delay:
                await connection.execute(*wait_statement(self.dialect, delay))
            return await connection.execute(statement, params)
        except DBAPIError as error:
            if opens:
                await self._abandon_write()
            _raise_translated(error)
        except BaseException:
            if opens:
                await self._abandon_write()
            raise

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Undo only the block's changes if it raises, keeping the unit usable: the block's
        first write opens the transaction when none is open (rolled back if the block fails),
        else the block runs in a SAVEPOINT."""
        connection = self._require()
        if not self._writing:
            try:
                yield
            except BaseException:
                await self._abandon_write()
                raise
            return
        try:
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

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[None]:
        """Run the block's reads on one snapshot of the database (they agree with one another);
        inside a write transaction, on that transaction. The block must not write."""
        connection = self._require()
        if self._writing or self._in_snapshot:
            yield
            return
        try:
            if self._is_sqlite:
                _sqlite_connection(await connection.get_raw_connection()).begin_with_next_statement(
                    "BEGIN"
                )
            else:
                await _end_autocommit_transaction(connection)
                await connection.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
        except DBAPIError as error:
            _raise_translated(error)
        self._in_snapshot = True
        try:
            yield
        except BaseException:
            await connection.rollback()
            raise
        else:
            try:
                await connection.commit()
            except DBAPIError as error:
                await connection.rollback()
                _raise_translated(error)
        finally:
            self._in_snapshot = False
            if self._is_sqlite:
                await self._drop_pending_begin(connection)
            elif not connection.closed:
                await connection.execution_options(
                    isolation_level=_AUTOCOMMIT, postgresql_readonly=False
                )

    async def _begin_writing(self, connection: AsyncConnection) -> None:
        if not self._is_sqlite:
            await _end_autocommit_transaction(connection)
            # The next statement opens the transaction (BEGIN, one round trip).
            await connection.execution_options(isolation_level=_WRITE_ISOLATION)
            self._writing = True
            return
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
        raw = await connection.get_raw_connection()
        _sqlite_connection(raw).begin_with_next_statement("BEGIN IMMEDIATE")
        self._writing = True

    async def _abandon_write(self) -> None:
        """Roll back the write transaction (if any) and read in autocommit mode again."""
        connection = self._connection
        if connection is None or not self._writing:
            return
        # The error being raised says more than a failed ROLLBACK; a broken connection is
        # invalidated by SQLAlchemy and never returns to the pool.
        with suppress(DBAPIError):
            await connection.rollback()
        await self._end_writing(connection)

    async def _end_writing(self, connection: AsyncConnection) -> None:
        self._writing = False
        self._release_writer_lock()
        if self._is_sqlite:
            await self._drop_pending_begin(connection)
        elif not connection.closed and not connection.invalidated:
            await connection.execution_options(isolation_level=_AUTOCOMMIT)

    async def _drop_pending_begin(self, connection: AsyncConnection) -> None:
        # A BEGIN that no statement carried (the block ran none) must not ride with a later one.
        if not connection.closed and not connection.invalidated:
            _sqlite_connection(await connection.get_raw_connection()).take_pending_begin()

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


async def _end_autocommit_transaction(connection: AsyncConnection) -> None:
    # SQLAlchemy begins a transaction of its own even in autocommit mode (no BEGIN is sent);
    # it must end (no COMMIT is sent either) before the isolation level may change.
    if connection.in_transaction():
        await connection.commit()


def _sqlite_connection(raw: PoolProxiedConnection) -> OneHopConnection:
    adapted = raw.dbapi_connection
    if not isinstance(adapted, OneHopConnection):
        raise TypeError("SQLite engines come from onehub.storage.engine.create_engine")
    return adapted


def _raise_translated(error: DBAPIError) -> NoReturn:
    original = error.orig
    if isinstance(original, sqlite3.OperationalError) and str(
        getattr(original, "sqlite_errorname", "")
    ).startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        raise Aborted("the database is busy with another write; retry") from error
    if getattr(original, "sqlstate", None) in _RETRYABLE_SQLSTATES:
        raise Aborted("a concurrent transaction conflicted with this one; retry") from error
    raise error
