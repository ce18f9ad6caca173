"""Entities of OneHub as frozen dataclasses: never protobuf messages, never ORM rows.

`version` is the optimistic-concurrency counter: every successful update increments it, and a
store refuses an update whose expected version is stale (`Aborted`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

JsonObject = Mapping[str, Any]

ADMIN_ID = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    name: str
    avatar: str = ""
    profile_data: JsonObject | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.id == ADMIN_ID


@dataclass(frozen=True, slots=True)
class Topic:
    id: str
    creator_id: str
    name: str
    users: frozenset[str] = frozenset()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    creator_id: str
    topic_id: str
    content_type: str = ""
    content_text: str = ""
    content_data: JsonObject | None = None
    parent_message_id: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Ask for one page. `page_key` is the opaque cursor from a previous `Page` ("" = first)."""

    page_key: str = ""
    page_size: int = 0


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: Sequence[T]
    next_page_key: str = ""
    has_more: bool = False
    total: int = 0


@dataclass(frozen=True, slots=True)
class MessageQuery:
    """A message search: every non-empty filter must match."""

    phrase: str = ""
    sender_id: str = ""
    topic_id: str = ""
    # Sort keys: field names, "-" prefixed for descending ("-created_at").
    order_by: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller."""

    user_id: str

    @property
    def is_admin(self) -> bool:
        return self.user_id == ADMIN_ID
