"""Paging flags for list commands and the loop that follows cursors for --all."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from onehub.gen.onehub.v1 import models_pb2

from .client import UsageError

# Any list response (ListTopicsResponse, ...): protobuf classes share no typed base with
# `pagination`, so the bound is Any and the field is reached by name.
Response = TypeVar("Response", bound=Any)

# The server caps pages at 1000; --all at that size still ends, this only stops a server that
# keeps handing out cursors.
_MAX_PAGES = 100_000


def add_paging_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("paging")
    group.add_argument(
        "--page-size", type=int, default=0, help="rows per page (server default 100, max 1000)"
    )
    group.add_argument("--page-key", default="", help="cursor printed by a previous page")
    group.add_argument(
        "--all", action="store_true", help="follow the cursors and print every page as one list"
    )


def first_page(args: argparse.Namespace) -> models_pb2.Pagination:
    """The Pagination of the first request. Raise UsageError for a negative --page-size."""
    if args.page_size < 0:
        raise UsageError("--page-size must not be negative")
    return models_pb2.Pagination(page_key=args.page_key, page_size=args.page_size)


async def fetch_pages(
    args: argparse.Namespace,
    items_field: str,
    fetch: Callable[[models_pb2.Pagination], Awaitable[Response]],
) -> Response:
    """Fetch one page, or with --all every page merged into the first response.

    The merged response carries all rows in `items_field` and the last page's pagination. A
    server that repeats a cursor would loop forever; that stops with the rows seen so far.
    """
    pagination = first_page(args)
    response = await fetch(pagination)
    if not args.all:
        return response
    seen_keys = {pagination.page_key}
    for _ in range(_MAX_PAGES):
        next_key = response.pagination.next_page_key
        if not next_key or next_key in seen_keys:
            break
        seen_keys.add(next_key)
        page = await fetch(models_pb2.Pagination(page_key=next_key, page_size=args.page_size))
        getattr(response, items_field).extend(getattr(page, items_field))
        response.pagination.CopyFrom(page.pagination)
    return response


def note_more(args: argparse.Namespace, pagination: models_pb2.PaginationResponse) -> None:
    """Tell the reader (on stderr, so stdout stays a clean table) how to get the next page."""
    if pagination.next_page_key and not args.all:
        print(
            f"more results: add --page-key {pagination.next_page_key} (or --all)",
            file=sys.stderr,
        )
