"""Turn a database URL into a configured async engine.

Accepted URLs (anything else raises StorageConfigError, whose one-line message never shows the
password):

- ``sqlite:///relative/path.db``, ``sqlite:////absolute/path.db`` (also with ``+aiosqlite``):
  SQLite through aiosqlite; the parent directory is created. Every connection runs in WAL mode
  with foreign keys enforced and waits up to `SQLITE_BUSY_TIMEOUT_MS` for a lock.
- ``postgres://user:pw@host:5432/db`` (as the original Go project wrote it), ``postgresql://...``
  (also with ``+asyncpg``): PostgreSQL through asyncpg. libpq's ``sslmode`` is honoured, and
  ``options=-c search_path=...`` (libpq's run-time parameters) sets server parameters.

With `workers` processes sharing one PostgreSQL server, each process's pool gets its share of
the connections one process may open (`POSTGRES_CONNECTIONS`: SQLAlchemy's 5 kept + 10 overflow),
but never fewer than 2: ``max(2, POSTGRES_CONNECTIONS // workers)``.

Pools keep what steady load needs (`SQLITE_POOL_SIZE` SQLite connections; every PostgreSQL
connection a process may open), so concurrent requests reuse connections: with SQLAlchemy's 5
kept and 10 overflow, 16 concurrent requests closed and reopened them all the time (16-22 new
SQLite connections, each a thread, per second). SQLite statements go through
`sqlite_driver.OneHopDbapi`: one hop to the connection's thread per statement.
"""

from __future__ import annotations

import shlex
import time
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from .errors import StorageConfigError
from .sqlite_driver import OneHopDbapi
from .sqlite_writer_lock import SqliteWriterLock

SQLITE_BUSY_TIMEOUT_MS = 5000
# A SQL function of every SQLite connection: `onehub_sleep(ms)` waits, then returns ms.
SQLITE_SLEEP_FUNCTION = "onehub_sleep"

# An execution option: a SQLite connection carrying it starts no transaction by itself; the unit
# of work reads in autocommit mode and issues BEGIN IMMEDIATE before its first write.
SQLITE_MANUAL_BEGIN = "onehub_sqlite_manual_begin"

# What one process may open on PostgreSQL: SQLAlchemy's default pool (5) plus its overflow (10).
POSTGRES_CONNECTIONS = 15
_POSTGRES_MIN_PER_WORKER = 2

# SQLite connections a process keeps open (one thread each), and how many more it may open for a
# burst (closed when returned). Reads never wait for one another, so more concurrent requests
# than this wait for a connection only past SQLITE_POOL_SIZE + SQLITE_POOL_OVERFLOW.
SQLITE_POOL_SIZE = 20
SQLITE_POOL_OVERFLOW = 10

_SQLITE_DRIVERS = frozenset({"", "aiosqlite", "pysqlite"})
_POSTGRES_DRIVERS = frozenset({"", "asyncpg", "psycopg", "psycopg2"})


def create_engine(url: str, *, workers: int = 1) -> AsyncEngine:
    """Return an async engine for `url` (see the module docstring for the accepted forms), for
    one of `workers` processes sharing the database.

    Raise StorageConfigError for a malformed URL, an unsupported database or driver, an
    in-memory SQLite database, or a SQLite directory that cannot be created.
    """
    parsed = parse_database_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(parsed, workers)
    return _postgres_engine(parsed, workers)


def postgres_pool_limits(workers: int) -> tuple[int, int]:
    """(pool_size, max_overflow) of each of `workers` processes: together they open at most
    `POSTGRES_CONNECTIONS`, unless that would leave a process fewer than 2. Every one is kept
    (no overflow): a connection closed after each burst costs a new backend process later."""
    return max(_POSTGRES_MIN_PER_WORKER, POSTGRES_CONNECTIONS // max(1, workers)), 0


def parse_database_url(url: str) -> URL:
    """Return the SQLAlchemy async URL for `url`; raise StorageConfigError if it is unusable."""
    scheme = url.partition("://")[0] if "://" in url else ""
    if scheme == "postgres" or scheme.startswith("postgres+"):
        # SQLAlchemy dropped the "postgres" alias that libpq and the Go original accept.
        url = "postgresql" + url[len("postgres") :]
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        raise StorageConfigError(
            "invalid database URL: expected sqlite:///path/to.db or "
            "postgresql://user:password@host:port/database"
        ) from None
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    shown = parsed.render_as_string(hide_password=True)
    if backend == "sqlite":
        if parsed.drivername != "sqlite" and driver not in _SQLITE_DRIVERS:
            raise StorageConfigError(f"unsupported SQLite driver {driver!r} in {shown}")
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            raise StorageConfigError(
                f"SQLite needs a file path (sqlite:///path/to.db), not {shown!r}"
            )
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend == "postgresql":
        if parsed.drivername != "postgresql" and driver not in _POSTGRES_DRIVERS:
            raise StorageConfigError(f"unsupported PostgreSQL driver {driver!r} in {shown}")
        if not parsed.database:
            raise StorageConfigError(f"PostgreSQL URL names no database: {shown}")
        return parsed.set(drivername="postgresql+asyncpg")
    raise StorageConfigError(
        f"unsupported database {backend!r}: use sqlite:///path/to.db or postgresql://..."
    )


# The cross-process writer lock of each SQLite engine made for several workers.
_writer_locks: weakref.WeakKeyDictionary[object, SqliteWriterLock] = weakref.WeakKeyDictionary()


def sqlite_writer_lock(engine: AsyncEngine) -> SqliteWriterLock | None:
    """The lock writers of `engine` take before BEGIN IMMEDIATE, when it serves one of several
    worker processes; None otherwise (the busy timeout is enough for occasional other writers)."""
    return _writer_locks.get(engine.sync_engine)


def _sqlite_engine(url: URL, workers: int) -> AsyncEngine:
    path = Path(url.database or "")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StorageConfigError(
            f"cannot create the directory for SQLite database {str(path)!r}: {error.strerror}"
        ) from None
    engine = create_async_engine(
        url,
        module=OneHopDbapi(),
        pool_size=SQLITE_POOL_SIZE,
        max_overflow=SQLITE_POOL_OVERFLOW,
    )
    if workers > 1:
        try:
            _writer_locks[engine.sync_engine] = SqliteWriterLock(f"{path}-writer.lock")
        except OSError as error:
            raise StorageConfigError(
                f"cannot create the writer lock beside SQLite database {str(path)!r}: "
                f"{error.strerror}"
            ) from None

    @event.listens_for(engine.sync_engine, "connect")
    def configure(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The driver must not open transactions on its own: the "begin" hook below and the unit
        # of work decide when and how (DEFERRED or IMMEDIATE) a transaction starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()
        # The db-latency fault's wait (storage/faults.py): SQLite has no sleep function.
        dbapi_connection.create_function(SQLITE_SLEEP_FUNCTION, 1, _sleep_ms)

    @event.listens_for(engine.sync_engine, "begin")
    def begin(connection: Any) -> None:
        if not connection.get_execution_options().get(SQLITE_MANUAL_BEGIN):
            connection.exec_driver_sql("BEGIN")

    return engine


def _sleep_ms(milliseconds: float) -> float:
    # Runs on the connection's own thread (aiosqlite), never on the event loop.
    time.sleep(max(0.0, float(milliseconds)) / 1000)
    return milliseconds


def _postgres_engine(url: URL, workers: int) -> AsyncEngine:
    query = dict(url.query)
    connect_args: dict[str, Any] = {}
    options = query.pop("options", None)
    if options is not None:
        connect_args["server_settings"] = _server_settings(
            options if isinstance(options, str) else " ".join(options), url
        )
    sslmode = query.pop("sslmode", None)
    if sslmode is not None:
        query["ssl"] = sslmode  # asyncpg's name for libpq's sslmode, same values.
    pool_size, max_overflow = postgres_pool_limits(workers)
    return create_async_engine(
        url.set(query=query),
        connect_args=connect_args,
        pool_size=pool_size,
        max_overflow=max_overflow,
    )


def _server_settings(options: str, url: URL) -> dict[str, str]:
    """Parse libpq's `options` ("-c name=value -cname=value") into asyncpg server settings."""
    settings: dict[str, str] = {}
    bad = StorageConfigError(
        "invalid options parameter in "
        f"{url.render_as_string(hide_password=True)}: expected -c name=value"
    )
    try:
        words = shlex.split(options)
    except ValueError:
        raise bad from None
    while words:
        word = words.pop(0)
        if word == "-c" and words:
            word = words.pop(0)
        elif word.startswith("-c"):
            word = word[2:]
        else:
            raise bad
        name, equals, value = word.partition("=")
        if not name or not equals:
            raise bad
        settings[name.replace("-", "_")] = value
    return settings
