"""Timestamps written by the stores: UTC, microsecond precision, strictly increasing in-process.

Strictly increasing so that messages created one after another (or in one batch) keep their
order when listed by creation time, whatever the clock's resolution. The services stamp what
they write with their (injectable) clock; a store falls back on the same kind of clock only for
an entity that arrives without a time.
"""

from __future__ import annotations

from datetime import UTC, datetime

from onehub.services.clock import UtcClock

utc_now = UtcClock()


def stamp(value: datetime | None) -> datetime:
    """Return `value` as UTC, or now if the caller gave no time."""
    return utc_now() if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
