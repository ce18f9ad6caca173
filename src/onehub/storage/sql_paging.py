"""Keyset pages over SQL: the WHERE clause that resumes after a cursor, the ORDER BY, the count."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Row, Table, and_, false, func, literal, or_, select, tuple_

from onehub.domain.models import Page, PageRequest

from .keyset import CursorValue, KeysetOrder, page_limit
from .sql_transaction import SqlTransaction

T = TypeVar("T")


def after_cursor(
    order: KeysetOrder, columns: Sequence[ColumnElement[Any]], values: Sequence[CursorValue]
) -> ColumnElement[bool]:
    """Rows strictly after `values` in `order`."""
    directions = {key.descending for key in order.keys}
    if len(directions) == 1:
        # One direction: a row-value comparison, which both databases serve from an index.
        row = tuple_(*columns)
        cursor = tuple_(*(literal(v, c.type) for v, c in zip(values, columns, strict=True)))
        return row < cursor if directions.pop() else row > cursor
    clauses: list[ColumnElement[bool]] = []
    for i, key in enumerate(order.keys):
        column, value = columns[i], values[i]
        beyond = column < value if key.descending else column > value
        equal_prefix = [columns[j] == values[j] for j in range(i)]
        clauses.append(and_(*equal_prefix, beyond))
    return or_(false(), *clauses)


async def fetch_page(
    tx: SqlTransaction,
    table: Table,
    order: KeysetOrder,
    page: PageRequest,
    to_domain: Callable[[Row[Any]], T],
    filters: Sequence[ColumnElement[bool]] = (),
    total: Callable[[], Awaitable[int]] | None = None,
) -> Page[T]:
    """Return the page of `table` rows matching `filters` that follows `page.page_key`.

    `total` gives the page's total; without it, every matching row is counted (exact, but it
    costs what the table holds: only for tables that stay small). Raise InvalidArgument for a
    cursor not made for this order.
    """
    after = order.decode(page.page_key)
    limit = page_limit(page)
    columns = [table.c[key.field] for key in order.keys]
    statement = select(table).where(*filters)
    if after is not None:
        statement = statement.where(after_cursor(order, columns, after))
    statement = statement.order_by(
        *(
            c.desc() if key.descending else c.asc()
            for c, key in zip(columns, order.keys, strict=True)
        )
    ).limit(limit + 1)
    async with tx.snapshot():  # the total counts the rows the page was cut from
        fetched = [to_domain(row) for row in (await tx.execute(statement)).all()]
        if total is None:
            count = select(func.count()).select_from(table).where(*filters)
            counted = (await tx.execute(count)).scalar_one()
        else:
            counted = await total()
    items, next_key, has_more = order.cut(fetched, limit, order.values_of)
    return Page(items, next_key, has_more, int(counted))


async def bounded_count(
    tx: SqlTransaction, table: Table, filters: Sequence[ColumnElement[bool]], bound: int
) -> int:
    """Return the number of `table` rows matching `filters`, or `bound` if there are more.

    It reads at most `bound` rows, whatever the table holds.
    """
    matching = select(literal(1)).select_from(table).where(*filters).limit(bound).subquery()
    return int((await tx.execute(select(func.count()).select_from(matching))).scalar_one())
