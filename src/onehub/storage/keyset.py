"""Keyset pagination shared by every store: sort orders, opaque cursors, page sizes.

A cursor is the urlsafe-base64 JSON of the last row's sort key plus a short digest of the list it
belongs to (which list, which order, which filters). Anything that does not decode to exactly that
shape is refused with InvalidArgument, so a garbled cursor, or one taken from another list or
order, never reaches a query.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import PageRequest

from .clock import as_utc

CursorValue = str | int | datetime

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# A real cursor is well under this; refusing longer input early bounds the decoding work.
_MAX_CURSOR_CHARS = 8192
_CURSOR_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")

# The type of every field a list may be sorted on.
FIELD_TYPES: dict[str, type] = {
    "id": str,
    "name": str,
    "created_at": datetime,
    "updated_at": datetime,
}

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SortKey:
    field: str
    descending: bool = False

    @property
    def spec(self) -> str:
        return f"-{self.field}" if self.descending else self.field


@dataclass(frozen=True, slots=True)
class KeysetOrder:
    """A total order over one list's rows. `keys` must end with a unique field (`id`).

    `scope` names the list (and its filters), so a cursor only fits the list that made it.
    """

    keys: tuple[SortKey, ...]
    scope: str

    @property
    def _digest(self) -> str:
        text = self.scope + "|" + ",".join(key.spec for key in self.keys)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def values_of(self, item: object) -> tuple[CursorValue, ...]:
        """Return the sort key of a domain object (attributes named like the fields)."""
        return tuple(getattr(item, key.field) for key in self.keys)

    def encode(self, values: Sequence[CursorValue]) -> str:
        """Return the opaque cursor that resumes the list after the row with `values`."""
        encoded = [v.isoformat() if isinstance(v, datetime) else v for v in values]
        raw = json.dumps({"s": self._digest, "v": encoded}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, page_key: str) -> tuple[CursorValue, ...] | None:
        """Return the sort key a cursor resumes after; None for "" (the first page).

        Raise InvalidArgument if `page_key` was not made by `encode` of this very order.
        """
        if not page_key:
            return None
        invalid = InvalidArgument("invalid page_key: not a cursor returned for this list")
        if len(page_key) > _MAX_CURSOR_CHARS or not _CURSOR_ALPHABET.fullmatch(page_key):
            raise invalid
        try:
            raw = base64.urlsafe_b64decode(page_key + "=" * (-len(page_key) % 4))
            payload: Any = json.loads(raw.decode("utf-8"))
        except (binascii.Error, ValueError):
            raise invalid from None
        if (
            not isinstance(payload, dict)
            or payload.keys() != {"s", "v"}
            or payload["s"] != self._digest
            or not isinstance(payload["v"], list)
            or len(payload["v"]) != len(self.keys)
        ):
            raise invalid
        return tuple(
            _decode_value(FIELD_TYPES[key.field], value, invalid)
            for key, value in zip(self.keys, payload["v"], strict=True)
        )

    def compare(self, left: Sequence[CursorValue], right: Sequence[CursorValue]) -> int:
        """Return <0, 0 or >0 as `left` sorts before, with or after `right` in this order."""
        for key, a, b in zip(self.keys, left, right, strict=True):
            if a != b:
                before = a < b  # type: ignore[operator]  # both values have the field's type
                return (1 if before else -1) if key.descending else (-1 if before else 1)
        return 0

    def page_in_memory(
        self, rows: Sequence[T], page: PageRequest, key_of: Callable[[T], tuple[CursorValue, ...]]
    ) -> tuple[list[T], str, bool]:
        """Sort `rows`, skip to the cursor and cut one page: (items, next_page_key, has_more)."""
        after = self.decode(page.page_key)
        sort_key = functools.cmp_to_key(self.compare)
        ordered = sorted(rows, key=lambda row: sort_key(key_of(row)))
        if after is not None:
            ordered = [row for row in ordered if self.compare(key_of(row), after) > 0]
        return self.cut(ordered, page_limit(page), key_of)

    def cut(
        self, fetched: Sequence[T], limit: int, key_of: Callable[[T], tuple[CursorValue, ...]]
    ) -> tuple[list[T], str, bool]:
        """Turn up to `limit + 1` fetched rows into (items, next_page_key, has_more)."""
        items = list(fetched[:limit])
        has_more = len(fetched) > limit
        next_key = self.encode(key_of(items[-1])) if has_more and items else ""
        return items, next_key, has_more


def _decode_value(kind: type, value: object, invalid: InvalidArgument) -> CursorValue:
    if kind is datetime and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise invalid from None
        if parsed.tzinfo is None:
            raise invalid
        return as_utc(parsed)
    if kind is str and isinstance(value, str) and "\x00" not in value:
        return value
    raise invalid


def page_limit(page: PageRequest) -> int:
    """The number of rows to return: the requested size, or the default for 0, at most 1000."""
    if page.page_size <= 0:
        return DEFAULT_PAGE_SIZE
    return min(page.page_size, MAX_PAGE_SIZE)


USERS_ORDER = KeysetOrder((SortKey("id"),), "users")
TOPICS_ORDER = KeysetOrder((SortKey("name"), SortKey("id")), "topics")


def topic_messages_order(topic_id: str) -> KeysetOrder:
    """Messages of one topic, oldest first."""
    return KeysetOrder((SortKey("created_at"), SortKey("id")), f"messages:{topic_id}")
