"""A phrase search on PostgreSQL in (created_at, id) order whose cost follows the page.

Left to itself, the planner picks one of two plans for "the newest matches of a word" from its
guess of how common the word is: walk the (created_at, id) index from the newest message and
test each one (cheap for a common word), or collect every match from the GIN index and sort them
(cheap for a rare one). For a word its statistics do not list, such as a name written once or a
word written nowhere, it guesses 0.5% of the messages and walks, reading the whole scope before
it can tell that no second match exists: 0.6 s at a million messages for a word that is not
there. This path makes the cost depend on the page and on how many messages match instead:

1. Count: the matches are counted up to `total_limit` + 1, as the plain query's total counts
   them (the planner reads a common word's first matches in table order, a rare word's from
   the GIN index). If there are at most `total_limit`, the page is cut from their keys, sorted
   apart from the (created_at, id) index: cheap whatever the table holds, and the total is
   that count.
2. Walk: otherwise read at most `walk_rows` messages of the scope from the cursor on, in order,
   and keep the matches. A word in at least one message in a hundred fills the page here, in
   one statement, as the plain query would; the total is `total_limit`.
3. Windows: otherwise there are many matches, but few among the newest messages: the rest of
   the scope is searched in time windows that grow tenfold, starting from the time the walk
   covered. A window's matches come from the GIN index ANDed with its range, at most
   `WINDOW_MATCHES` of them, sorted here. A window holding more is dense: it is searched in
   tenths the same way, nearest first, and a dense tenth is walked in order, which then finds
   the page after few messages (at most a tenth of the window). Windows stop once the page is
   full or they reach the end of the table.

Every window lies entirely after the previous one in the order, so the page is the plain query's
page: the first `limit` matches after the cursor in (created_at, id) order, and whether more
follow. The total is the plain one too: the matches counted up to `total_limit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, func, select

from onehub.domain.models import Page, PageRequest

from .keyset import CursorValue, KeysetOrder, SortKey, page_limit
from .sql_paging import after_cursor, bounded_count
from .sql_transaction import SqlTransaction
from .tables import messages

T = TypeVar("T")

NEWEST_FIRST = (SortKey("created_at", descending=True), SortKey("id", descending=True))
OLDEST_FIRST = (SortKey("created_at"), SortKey("id"))
# The walk reads this many messages per row of the page (a word in one message in a hundred fills
# a page there), at most `MAX_WALK_ROWS` in all.
WALK_ROWS_PER_RESULT = 100
MAX_WALK_ROWS = 20_000
# Matches read from one window's index scan before it counts as dense and is walked instead.
WINDOW_MATCHES = 1000
WINDOW_GROWTH = 10
_SHORTEST_SPAN = timedelta(milliseconds=1)

_KEY_COLUMNS = (messages.c.created_at, messages.c.id)


def walks_in_windows(dialect: str, order: KeysetOrder) -> bool:
    """Whether a phrase search in `order` can take this path on `dialect`."""
    return dialect == "postgresql" and order.keys in (NEWEST_FIRST, OLDEST_FIRST)


async def search_in_windows(
    tx: SqlTransaction,
    matches: ColumnElement[bool],
    filters: Sequence[ColumnElement[bool]],
    order: KeysetOrder,
    page: PageRequest,
    to_domain: Callable[[Row[Any]], T],
    total_limit: int,
) -> Page[T]:
    """One page of the messages matching `matches` and `filters` in `order` (by created_at then
    id, either direction), with their number counted up to `total_limit` as its total.

    Raise InvalidArgument for a cursor not made for `order`. Run it inside a snapshot.
    """
    limit = page_limit(page)
    search = _Search(tx, matches, filters, order)
    after = _key(order.decode(page.page_key))
    counted = await bounded_count(tx, messages, [*filters, matches], total_limit + 1)
    if counted <= total_limit:
        found = await search.sorted_matches(after, limit + 1) if counted else []
        return _page(order, [to_domain(row) for row in found], limit, counted)
    walk_rows = min(WALK_ROWS_PER_RESULT * (limit + 1), MAX_WALK_ROWS)
    rows = await search.walk(after, limit + 1, walk_rows)
    if len(rows) <= limit:
        last_walked = await search.last_walked(after, walk_rows)
        if last_walked is not None:
            rows += await search.windows(after, last_walked, limit + 1 - len(rows))
    return _page(order, [to_domain(row) for row in rows], limit, total_limit)


def _page(order: KeysetOrder, fetched: list[T], limit: int, total: int) -> Page[T]:
    items, next_key, has_more = order.cut(fetched, limit, order.values_of)
    return Page(items, next_key, has_more, total)


class _Search:
    def __init__(
        self,
        tx: SqlTransaction,
        matches: ColumnElement[bool],
        filters: Sequence[ColumnElement[bool]],
        order: KeysetOrder,
    ) -> None:
        self._tx = tx
        self._matches = matches
        self._filters = list(filters)
        self._order = order
        self._descending = order.keys[0].descending

    def _ordered(self, *columns: ColumnElement[Any]) -> list[ColumnElement[Any]]:
        return [c.desc() if self._descending else c.asc() for c in columns]

    def _beyond(self, key: tuple[datetime, str]) -> ColumnElement[bool]:
        """Messages after `key` in the search's order."""
        return after_cursor(self._order, _KEY_COLUMNS, key)

    async def walk(
        self, after: tuple[datetime, str] | None, wanted: int, walk_rows: int
    ) -> list[Row[Any]]:
        """The first `wanted` matches among the first `walk_rows` messages after `after`."""
        beyond = [self._beyond(after)] if after is not None else []
        walked = (
            select(*messages.c, self._matches.label("hit"))
            .where(*self._filters, *beyond)
            .order_by(*self._ordered(messages.c.created_at, messages.c.id))
            .limit(walk_rows)
            .subquery("walked")
        )
        statement = (
            select(*(walked.c[c.name] for c in messages.c))
            .where(walked.c.hit)
            .order_by(*self._ordered(walked.c.created_at, walked.c.id))
            .limit(wanted)
        )
        return list((await self._tx.execute(statement)).all())

    async def last_walked(
        self, after: tuple[datetime, str] | None, walk_rows: int
    ) -> tuple[datetime, str] | None:
        """The key of the last message the walk read; None if the walk read the whole scope."""
        beyond = [self._beyond(after)] if after is not None else []
        statement = (
            select(messages.c.created_at, messages.c.id)
            .where(*self._filters, *beyond)
            .order_by(*self._ordered(messages.c.created_at, messages.c.id))
            .offset(walk_rows - 1)
            .limit(1)
        )
        row = (await self._tx.execute(statement)).first()
        return None if row is None else (row.created_at, row.id)

    async def windows(
        self, after: tuple[datetime, str] | None, last_walked: tuple[datetime, str], wanted: int
    ) -> list[Row[Any]]:
        """Up to `wanted` matches after `last_walked`, found window by window."""
        start = after[0] if after is not None else await self._scope_start()
        edge = await self._table_edge()
        if start is None or edge is None:  # cannot be: the walk has just read the scope
            return []
        span = max(abs(last_walked[0] - start), _SHORTEST_SPAN)
        found: list[Row[Any]] = []
        # The first window continues right after the last walked message; each next one right
        # after the previous one's far end. The last one reaches the table's end.
        near = self._beyond(last_walked)
        near_time = last_walked[0]
        while len(found) < wanted:
            span *= WINDOW_GROWTH
            # Compared before stepping: a step past the table's end may pass datetime's range.
            last = span >= abs(edge - near_time)
            step = -span if self._descending else span
            far_time = edge if last else near_time + step
            found += await self._window(near, near_time, far_time, wanted - len(found))
            if last:
                break
            near, near_time = self._beyond_time(far_time), far_time
        return found

    def _beyond_time(self, instant: datetime) -> ColumnElement[bool]:
        column = messages.c.created_at
        return column < instant if self._descending else column > instant

    def _not_beyond_time(self, instant: datetime) -> ColumnElement[bool]:
        column = messages.c.created_at
        return column >= instant if self._descending else column <= instant

    async def sorted_matches(
        self, after: tuple[datetime, str] | None, wanted: int
    ) -> list[Row[Any]]:
        """The first `wanted` matches after `after`, from every match's key sorted: for a scope
        known to hold few matches. The matches are gathered apart (a materialized CTE) so that
        the planner cannot turn the sort into a walk of the (created_at, id) index."""
        hits = (
            select(messages.c.seq, messages.c.created_at, messages.c.id)
            .where(*self._filters, self._matches)
            .cte("hits")
            .prefix_with("MATERIALIZED")
        )
        beyond = (
            []
            if after is None
            else [after_cursor(self._order, [hits.c.created_at, hits.c.id], after)]
        )
        first = (
            select(hits.c.seq)
            .where(*beyond)
            .order_by(*self._ordered(hits.c.created_at, hits.c.id))
            .limit(wanted)
        )
        page = (
            select(messages)
            .where(messages.c.seq.in_(first))
            .order_by(*self._ordered(messages.c.created_at, messages.c.id))
        )
        return list((await self._tx.execute(page)).all())

    async def first_of(self, keys: Sequence[Row[Any]], wanted: int) -> list[Row[Any]]:
        """The messages of the first `wanted` of `keys`, in order."""
        ordered = sorted(keys, key=lambda r: (r.created_at, r.id), reverse=self._descending)
        chosen = [r.seq for r in ordered[:wanted]]
        if not chosen:
            return []
        read = await self._tx.execute(select(messages).where(messages.c.seq.in_(chosen)))
        by_seq = {row.seq: row for row in read.all()}
        return [by_seq[seq] for seq in chosen]  # one snapshot: every key's message is there

    async def _keys(self, inside: list[ColumnElement[bool]], at_most: int) -> list[Row[Any]]:
        hits = (
            select(messages.c.seq, messages.c.created_at, messages.c.id)
            .where(*self._filters, self._matches, *inside)
            .limit(at_most)
        )
        return list((await self._tx.execute(hits)).all())

    async def _window(
        self,
        near: ColumnElement[bool],
        near_time: datetime,
        far_time: datetime,
        wanted: int,
        *,
        sliced: bool = False,
    ) -> list[Row[Any]]:
        """The first `wanted` matches in the window from `near` (a condition on the key) to
        `far_time` (included)."""
        inside = [near, self._not_beyond_time(far_time)]
        keys = await self._keys(inside, WINDOW_MATCHES + 1)
        if len(keys) <= WINDOW_MATCHES:
            return await self.first_of(keys, wanted)
        if not sliced:
            # Dense, but its matches may all lie at its far end, past a long stretch without
            # any: search it in tenths, nearest first, so that a walk reads at most a tenth.
            found: list[Row[Any]] = []
            step = (far_time - near_time) / WINDOW_GROWTH
            for tenth in range(1, WINDOW_GROWTH + 1):
                slice_far = far_time if tenth == WINDOW_GROWTH else near_time + step * tenth
                found += await self._window(
                    near, near_time, slice_far, wanted - len(found), sliced=True
                )
                if len(found) >= wanted:
                    break
                near = self._beyond_time(slice_far)
            return found
        # A dense tenth: walked in order, it gives the page after few messages.
        walk = (
            select(messages)
            .where(*self._filters, self._matches, *inside)
            .order_by(*self._ordered(messages.c.created_at, messages.c.id))
            .limit(wanted)
        )
        return list((await self._tx.execute(walk)).all())

    async def _scope_start(self) -> datetime | None:
        """The created_at of the scope's first message in the search's order."""
        first = (
            select(messages.c.created_at)
            .where(*self._filters)
            .order_by(*self._ordered(messages.c.created_at, messages.c.id))
            .limit(1)
        )
        value = (await self._tx.execute(first)).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def _table_edge(self) -> datetime | None:
        """The created_at of the table's last message in the search's order: the scope ends no
        later, and the table's is one index lookup whatever the filters."""
        pick = func.min if self._descending else func.max
        value = (await self._tx.execute(select(pick(messages.c.created_at)))).scalar_one_or_none()
        return value if isinstance(value, datetime) else None


def _key(values: Sequence[CursorValue] | None) -> tuple[datetime, str] | None:
    if values is None:
        return None
    created_at, message_id = values
    if not isinstance(created_at, datetime) or not isinstance(message_id, str):
        raise TypeError("a (created_at, id) cursor holds a datetime and a string")
    return created_at, message_id
