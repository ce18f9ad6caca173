"""Retention: drop the oldest rows by age of arrival and by store size.

Rows are removed in arrival order (row id order), which is what a ring buffer of telemetry
wants: the store never shrinks below what arrived within `max_age`, and never grows past
`max_size_bytes` by more than one check interval's worth of ingest.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

# Freed pages go back to SQLite's free list and are reused, so the file stops growing once
# retention starts deleting; deleting this much below the limit avoids a delete every commit.
_SIZE_HEADROOM = 0.10


@dataclass(frozen=True)
class Retention:
    """How long and how much to keep; None means no limit of that kind."""

    max_age_s: float | None = 7 * 24 * 3600.0
    max_size_bytes: int | None = 1024 * 1024 * 1024
    check_interval_s: float = 10.0


def used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes the store's live pages occupy (file size minus free pages)."""
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    (page_count,) = conn.execute("PRAGMA page_count").fetchone()
    (free_pages,) = conn.execute("PRAGMA freelist_count").fetchone()
    return int(page_size) * (int(page_count) - int(free_pages))


def apply_retention(
    conn: sqlite3.Connection, retention: Retention, *, now_us: int | None = None
) -> bool:
    """Delete what is past the limits; True when rows were deleted."""
    deleted = False
    if retention.max_age_s is not None:
        now = time.time_ns() // 1000 if now_us is None else now_us
        deleted |= _drop_older_than(conn, now - int(retention.max_age_s * 1_000_000))
    if retention.max_size_bytes is not None:
        deleted |= _drop_to_size(conn, retention.max_size_bytes)
    if deleted:
        _drop_orphan_names(conn)
    return deleted


def _drop_older_than(conn: sqlite3.Connection, cutoff_us: int) -> bool:
    row = conn.execute(
        "SELECT max(last_span_id), max(last_log_id) FROM commits WHERE committed_us < ?",
        (cutoff_us,),
    ).fetchone()
    if row is None or row[0] is None:
        return False
    last_span_id, last_log_id = row
    conn.execute("BEGIN IMMEDIATE")
    _delete_spans_before(conn, last_span_id + 1)
    conn.execute("DELETE FROM logs WHERE id <= ?", (last_log_id,))
    conn.execute("DELETE FROM commits WHERE committed_us < ?", (cutoff_us,))
    conn.execute("COMMIT")
    return True


def _drop_to_size(conn: sqlite3.Connection, max_bytes: int) -> bool:
    deleted = False
    # A few rounds at most: each removes the oldest share of rows the excess calls for.
    for _ in range(8):
        used = used_bytes(conn)
        if used <= max_bytes:
            break
        share = min(1.0, (used - max_bytes) / used + _SIZE_HEADROOM)
        conn.execute("BEGIN IMMEDIATE")
        for table in ("spans", "logs"):
            low, high = conn.execute(f"SELECT min(id), max(id) FROM {table}").fetchone()
            if low is None:
                continue
            cut = low + int((high - low + 1) * share)
            if table == "spans":
                _delete_spans_before(conn, cut)
            else:
                conn.execute("DELETE FROM logs WHERE id < ?", (cut,))
        span_low = conn.execute("SELECT coalesce(min(id), 0) FROM spans").fetchone()[0]
        conn.execute("DELETE FROM commits WHERE last_span_id < ?", (span_low,))
        conn.execute("COMMIT")
        deleted = True
    return deleted


def _delete_spans_before(conn: sqlite3.Connection, first_kept_id: int) -> None:
    """Delete spans stored before `first_kept_id`, and the rest of their traces with them:
    a trace is kept whole or not at all."""
    conn.execute(
        "DELETE FROM spans WHERE trace_id IN (SELECT trace_id FROM spans WHERE id < ?)",
        (first_kept_id,),
    )


def _drop_orphan_names(conn: sqlite3.Connection) -> None:
    """Operations no stored span uses any more leave the lists (the service list is the
    services that still have an operation; the services table itself is only a dictionary)."""
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "DELETE FROM operation_kinds WHERE NOT EXISTS"
        " (SELECT 1 FROM spans WHERE spans.operation_id = operation_kinds.operation_id)"
    )
    conn.execute(
        "DELETE FROM operations WHERE NOT EXISTS"
        " (SELECT 1 FROM spans WHERE spans.operation_id = operations.id)"
    )
    conn.execute("COMMIT")
