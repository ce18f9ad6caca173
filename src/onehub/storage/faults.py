"""The db-latency fault, in the database itself: a statement that makes the server wait.

The wait is a statement of its own (`SELECT pg_sleep(...)`, or `onehub_sleep(ms)` registered on
every SQLite connection), so it is a real database call with its own statement span: the time
shows up where a slow query's would, on a leaf span the trace findings can name.
"""

from __future__ import annotations

from sqlalchemy import TextClause, text

from .engine import SQLITE_SLEEP_FUNCTION

_COMMENT = "/* fault.injected: db-latency */"
_POSTGRES = text(f"SELECT pg_sleep(:seconds) {_COMMENT}")
_SQLITE = text(f"SELECT {SQLITE_SLEEP_FUNCTION}(:milliseconds) {_COMMENT}")


def wait_statement(dialect: str, seconds: float) -> tuple[TextClause, dict[str, float]]:
    """The statement (and its parameters) that keeps the database busy for `seconds`."""
    if dialect == "sqlite":
        return _SQLITE, {"milliseconds": seconds * 1000}
    return _POSTGRES, {"seconds": seconds}
