"""Timestamps written by the stores: UTC, microsecond precision, strictly increasing in-process.

Strictly increasing so that messages created one after another (or in one batch) keep their
order when listed by creation time, whatever the clock's resolution.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

_MICROSECOND = timedelta(microseconds=1)
_lock = threading.Lock()
_last = datetime.min.replace(tzinfo=UTC)


def utc_now() -> datetime:
    """Return the current UTC time, later than every value this process returned before."""
    global _last
    with _lock:
        now = datetime.now(UTC)
        if now <= _last:
            now = _last + _MICROSECOND
        _last = now
        return now


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
