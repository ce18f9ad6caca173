"""The trace store's SQLite schema and connection settings.

One row per span. The columns a search filters on are plain integers (service, operation,
start, duration, status); one index, by service and start time, carries the operation and
`tag_bloom` (a signature of the span's attributes, see `tag_filter`), so a search by operation
or by tag steps through index entries alone and reads only the spans that may match. Version 1
had a second index by operation instead: one index fewer pays for the signature's cost at
ingest. Everything else stays in the span's own protobuf bytes (`body`), decoded only for the
spans a query returns. Resources and scopes are stored once and referred to by id.
`commits` maps commit time to row ids, so time windows and age retention can walk row-id
ranges instead of needing another index on start time.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 2

_DDL = """
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS services(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS operations(
    id INTEGER PRIMARY KEY,
    service_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    UNIQUE(service_id, name));
CREATE TABLE IF NOT EXISTS operation_kinds(
    operation_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    PRIMARY KEY(operation_id, kind)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS resources(
    id INTEGER PRIMARY KEY,
    body BLOB NOT NULL UNIQUE,
    service_id INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS scopes(
    id INTEGER PRIMARY KEY,
    body BLOB NOT NULL UNIQUE,
    name TEXT NOT NULL,
    version TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS spans(
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    parent_id BLOB NOT NULL,
    service_id INTEGER NOT NULL,
    operation_id INTEGER NOT NULL,
    kind INTEGER NOT NULL,
    start_us INTEGER NOT NULL,
    duration_us INTEGER NOT NULL,
    status INTEGER NOT NULL,
    resource_id INTEGER NOT NULL,
    scope_id INTEGER NOT NULL,
    body BLOB NOT NULL,
    tag_bloom INTEGER NOT NULL DEFAULT -1);
CREATE UNIQUE INDEX IF NOT EXISTS spans_by_trace ON spans(trace_id, span_id);
CREATE INDEX IF NOT EXISTS spans_by_service
    ON spans(service_id, start_us, operation_id, tag_bloom);
CREATE TABLE IF NOT EXISTS logs(
    id INTEGER PRIMARY KEY,
    trace_id BLOB NOT NULL,
    span_id BLOB NOT NULL,
    time_us INTEGER NOT NULL,
    service_id INTEGER NOT NULL,
    resource_id INTEGER NOT NULL,
    scope_id INTEGER NOT NULL,
    body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_trace ON logs(trace_id);
CREATE TABLE IF NOT EXISTS commits(
    committed_us INTEGER NOT NULL,
    last_span_id INTEGER NOT NULL,
    last_log_id INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS commits_by_time ON commits(committed_us);
"""


class StoreOpenError(Exception):
    """The store file cannot be opened or is not a trace store of a version we read."""


def connect(path: Path, *, cache_mib: int, readonly: bool = False) -> sqlite3.Connection:
    """Open the store with the settings every connection needs.

    WAL lets readers run beside the one writer; synchronous=NORMAL keeps every committed
    transaction through a process crash (only an OS crash may lose the last commits).
    Raises StoreOpenError with the path when the file is unusable.
    """
    try:
        if readonly:
            uri = f"{path.resolve().as_uri()}?mode=ro"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        else:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute(f"PRAGMA cache_size=-{cache_mib * 1024}")
        if not readonly:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        return conn
    except sqlite3.Error as exc:
        raise StoreOpenError(f"cannot open trace store {path}: {exc}") from exc


# Version 1 had no tag_bloom: its rows get every bit set, so tag searches still find them.
_FROM_V1 = """
ALTER TABLE spans ADD COLUMN tag_bloom INTEGER NOT NULL DEFAULT -1;
DROP INDEX spans_by_service;
DROP INDEX spans_by_operation;
CREATE INDEX spans_by_service ON spans(service_id, start_us, operation_id, tag_bloom);
"""


def create_schema(conn: sqlite3.Connection, path: Path) -> None:
    """Create the tables if missing and upgrade a version 1 file (once, in one transaction;
    rebuilding its search indexes takes a few seconds per million spans); refuse a file
    written by a newer schema."""
    try:
        conn.executescript(_DDL)
        version = _version(conn)
        if version in (None, 1):
            conn.execute("BEGIN IMMEDIATE")  # the check again, now as the only writer
            version = _version(conn)
            if version == 1:
                for statement in filter(str.strip, _FROM_V1.split(";")):
                    conn.execute(statement)
            if version in (None, 1):
                conn.execute(
                    "INSERT OR REPLACE INTO meta(key, value) VALUES('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                version = SCHEMA_VERSION
            conn.execute("COMMIT")
        if version != SCHEMA_VERSION:
            raise StoreOpenError(
                f"trace store {path} has schema version {version}, this collector reads "
                f"{SCHEMA_VERSION}; move the file away or use another --data-dir"
            )
    except sqlite3.DatabaseError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StoreOpenError(f"trace store {path} is not usable: {exc}") from exc


def _version(conn: sqlite3.Connection) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return None if row is None else int(row[0])
