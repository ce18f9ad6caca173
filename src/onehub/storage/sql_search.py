"""Newest-first search on SQLite that stops after a page: the FTS index walked by rowid.

A message's rowid (`messages.seq`) grows with every insert. Migration 0004 keeps the set of
messages stored after one that sorts later by (created_at, id) in `messages_fts_out_of_order`
(backdated imports, or two writers whose clocks were read in one order and whose inserts
committed in the other). Among all other messages rowid order *is* (created_at, id) order, so:

1. the in-order matches come from FTS5 by descending rowid, below the rowid where the cursor
   falls, and the walk stops after a page plus one (FTS5 seeks, it does not sort);
2. out-of-order matches can only enter the page between the cursor and the last row of step 1:
   those few are read from their own table, each checked against the index by rowid;
3. both are merged in (created_at, id) order and cut into the page.

With more than `MAX_OUT_OF_ORDER` such messages the caller runs the plain query (sort every
match) instead: still correct, only slower. The page is the one the plain query returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    Row,
    column,
    exists,
    func,
    literal,
    literal_column,
    select,
    table,
    tuple_,
)

from onehub.domain.models import PageRequest

from .keyset import CursorValue, KeysetOrder, SortKey, page_limit
from .sql_transaction import SqlTransaction
from .tables import messages

T = TypeVar("T")

NEWEST_FIRST = (SortKey("created_at", descending=True), SortKey("id", descending=True))
# Above this many out-of-order messages, merging them in costs more than it saves.
MAX_OUT_OF_ORDER = 1000

_fts = table("messages_fts", column("rowid"))
_out_of_order = table("messages_fts_out_of_order", column("seq"))


def walks_the_index(dialect: str, order: KeysetOrder) -> bool:
    """Whether a phrase search in `order` can take this path on `dialect`."""
    return dialect == "sqlite" and order.keys == NEWEST_FIRST


async def search_newest_first(
    tx: SqlTransaction,
    fts_query: str,
    filters: Sequence[ColumnElement[bool]],
    order: KeysetOrder,
    page: PageRequest,
    to_domain: Callable[[Row[Any]], T],
) -> tuple[list[T], str, bool] | None:
    """One page of the messages matching `fts_query` and `filters`, newest first:
    (items, next_key, has_more); None when too many messages are out of order for this path.

    Raise InvalidArgument for a cursor not made for `order`.
    """
    after = order.decode(page.page_key)
    limit = page_limit(page)
    disorder = select(literal(1)).select_from(_out_of_order).limit(MAX_OUT_OF_ORDER + 1)
    counted = await tx.execute(select(func.count()).select_from(disorder.subquery()))
    out_of_order = int(counted.scalar_one())
    if out_of_order > MAX_OUT_OF_ORDER:
        return None
    key = tuple_(messages.c.created_at, messages.c.id)
    matches = literal_column("messages_fts").op("MATCH")(fts_query)
    in_order = messages.c.seq.not_in(select(_out_of_order.c.seq))

    walk = (
        select(messages)
        .select_from(_fts.join(messages, messages.c.seq == _fts.c.rowid))
        .where(matches, in_order, *filters)
        .order_by(_fts.c.rowid.desc())
        .limit(limit + 1)
    )
    if after is not None:
        cursor = _key_literal(after)
        # The first in-order message at or after the cursor: every in-order message below
        # its rowid sorts below the cursor, and no other does.
        first_at_cursor = (
            select(messages.c.seq)
            .where(key >= cursor, in_order)
            .order_by(messages.c.created_at, messages.c.id)
            .limit(1)
        )
        bound = (await tx.execute(first_at_cursor)).scalar_one_or_none()
        if bound is not None:
            walk = walk.where(_fts.c.rowid < bound)
    walked = list((await tx.execute(walk)).all())

    stray_rows: list[Row[Any]] = []
    if out_of_order:
        stray_rows = await _strays(
            tx, matches, filters, after, walked[-1] if len(walked) > limit else None
        )
    rows = sorted([*walked, *stray_rows], key=lambda r: (r.created_at, r.id), reverse=True)
    fetched = [to_domain(row) for row in rows[: limit + 1]]
    return order.cut(fetched, limit, order.values_of)


async def _strays(
    tx: SqlTransaction,
    matches: ColumnElement[bool],
    filters: Sequence[ColumnElement[bool]],
    after: Sequence[CursorValue] | None,
    lowest_walked: Row[Any] | None,
) -> list[Row[Any]]:
    """The out-of-order matches that sort below the cursor and above `lowest_walked`.

    Read from the (at most `MAX_OUT_OF_ORDER`) out-of-order rows by rowid, unsorted: ordering
    them in SQL would let SQLite walk every message by time instead.
    """
    key = tuple_(messages.c.created_at, messages.c.id)
    matched_by_rowid = exists(
        select(literal(1)).select_from(_fts).where(matches, _fts.c.rowid == messages.c.seq)
    )
    strays = select(messages).where(
        messages.c.seq.in_(select(_out_of_order.c.seq)), *filters, matched_by_rowid
    )
    if after is not None:
        strays = strays.where(key < _key_literal(after))
    if lowest_walked is not None:
        strays = strays.where(key > _key_literal((lowest_walked.created_at, lowest_walked.id)))
    return list((await tx.execute(strays)).all())


async def count_matches(
    tx: SqlTransaction, fts_query: str, filters: Sequence[ColumnElement[bool]], bound: int
) -> int:
    """The number of messages matching `fts_query` and `filters`, or `bound` if there are more.

    Driven by the FTS index in descending rowid order, which it reads lazily; the messages are
    joined only when `filters` need them.
    """
    matches = literal_column("messages_fts").op("MATCH")(fts_query)
    source = _fts.join(messages, messages.c.seq == _fts.c.rowid) if filters else _fts
    first = (
        select(literal(1))
        .select_from(source)
        .where(matches, *filters)
        .order_by(_fts.c.rowid.desc())
        .limit(bound)
    )
    counted = await tx.execute(select(func.count()).select_from(first.subquery()))
    return int(counted.scalar_one())


def _key_literal(values: Sequence[CursorValue]) -> ColumnElement[Any]:
    return tuple_(
        literal(values[0], messages.c.created_at.type), literal(values[1], messages.c.id.type)
    )
