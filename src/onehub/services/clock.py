"""The service layer's notion of "now", injectable so tests can pin it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

Clock = Callable[[], datetime]

_TICK = timedelta(microseconds=1)


class UtcClock:
    """Timezone-aware UTC time that never repeats or goes backwards within one process.

    Messages list by creation time, so the messages of one batch get distinct, increasing
    timestamps and keep the order the client sent them in. Microseconds, because PostgreSQL
    stores no finer.
    """

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source or (lambda: datetime.now(UTC))
        self._last = datetime.min.replace(tzinfo=UTC)
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            now = self._source()
            self._last = now if now > self._last else self._last + _TICK
            return self._last
