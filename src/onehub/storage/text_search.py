"""What a message search means, independent of the database: words and sort orders.

A phrase is reduced to its words (runs of letters and digits, case-folded); every word must occur
in a message. Punctuation, quotes, FTS operators and SQL metacharacters are separators, never
syntax, so no phrase can fail to parse or change the query's meaning.
"""

from __future__ import annotations

import hashlib
import json
import re

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import MessageQuery

from .keyset import KeysetOrder, SortKey

# Letters and digits only: "_" is a separator for SQLite's unicode61 tokenizer and PostgreSQL's
# parser alike, so it must be one here too.
_WORD = re.compile(r"[^\W_]+")

# A phrase search's total counts its matches up to this many; one with more matches reports this
# number, a lower bound (`has_more` tells a client whether to keep paging). Counting every match
# of a common word cost 215 ms at a million messages on SQLite; this costs well under 1 ms.
SEARCH_TOTAL_LIMIT = 1000

SEARCH_SORT_FIELDS = frozenset({"created_at", "updated_at", "id"})
_DEFAULT_SEARCH_ORDER = (SortKey("created_at", descending=True),)


def search_words(text: str) -> list[str]:
    """Return the distinct words of `text`, case-folded, in first-seen order."""
    return list(dict.fromkeys(_WORD.findall(text.casefold())))


def search_order(query: MessageQuery) -> KeysetOrder:
    """Return the keyset order of a search; newest first when `order_by` is empty.

    Raise InvalidArgument for a key other than created_at, updated_at, id (each optionally
    prefixed with "-" for descending) or for a field named twice. `id` breaks ties, in the
    direction of the last key.
    """
    keys: list[SortKey] = []
    for spec in query.order_by:
        descending = spec.startswith("-")
        field = spec[1:] if descending else spec
        if field not in SEARCH_SORT_FIELDS:
            allowed = ", ".join(sorted(SEARCH_SORT_FIELDS))
            raise InvalidArgument(f"unknown order_by key {spec!r}; use one of {allowed}")
        if any(key.field == field for key in keys):
            raise InvalidArgument(f"order_by names {field!r} more than once")
        keys.append(SortKey(field, descending))
    if not keys:
        keys = list(_DEFAULT_SEARCH_ORDER)
    if all(key.field != "id" for key in keys):
        keys.append(SortKey("id", keys[-1].descending))
    filters = json.dumps([query.phrase, query.sender_id, query.topic_id])
    scope = "search:" + hashlib.sha256(filters.encode()).hexdigest()[:16]
    return KeysetOrder(tuple(keys), scope)
