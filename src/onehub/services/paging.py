"""Page-size rules shared by every list, and the signature that makes page keys unforgeable.

A page key handed to a client is the store's cursor followed by "." and an HMAC-SHA256 tag (16
bytes, urlsafe base64) keyed with the deployment's secret. A key is only passed on to a store
when its tag verifies, so a tampered, truncated or foreign key (one made by another deployment,
whose secret differs) is refused as "invalid page key" before it can reach a query. The secret
must be the same for every replica of one deployment and survive restarts: the composition root
loads it from the database and hands it to `build_services`.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import hmac
import secrets
from typing import TypeVar

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import Page, PageRequest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# The longest genuine key (a topic name of 256 and an id of 128 astral characters, JSON-escaped
# and base64-encoded, plus the tag) is about 6,300 characters.
MAX_PAGE_KEY_LENGTH = 8192
MIN_SECRET_BYTES = 16

_TAG_BYTES = 16
_TAG_CHARS = 22  # urlsafe base64 of 16 bytes, unpadded
_DOMAIN = b"onehub.page_key.v1\x00"

T = TypeVar("T")


def clamp_page(page: PageRequest) -> PageRequest:
    """Return `page` with its size defaulted (0 → 100) and capped (→ 1000).

    Raise InvalidArgument for a negative size or an absurdly long cursor; whether the cursor is
    one the store made is the store's to judge.
    """
    if page.page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    if len(page.page_key) > MAX_PAGE_KEY_LENGTH:
        raise InvalidArgument("invalid page key")
    size = page.page_size or DEFAULT_PAGE_SIZE
    return PageRequest(page_key=page.page_key, page_size=min(size, MAX_PAGE_SIZE))


@functools.cache
def process_page_key_secret() -> bytes:
    """A random secret made once per process: for stores that live no longer than it (memory)."""
    return secrets.token_bytes(32)


class PageKeys:
    """Signs the cursors stores make and verifies the keys clients send back."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_SECRET_BYTES:
            raise ValueError(f"a page-key secret needs at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret

    def _tag(self, cursor: str) -> str:
        digest = hmac.new(self._secret, _DOMAIN + cursor.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:_TAG_BYTES]).decode().rstrip("=")

    def open(self, page: PageRequest) -> PageRequest:
        """Return `page` (clamped) with its key replaced by the store cursor it carries.

        Raise InvalidArgument("invalid page key") unless the key is "" or one `seal` made with
        this secret; nothing else about the key is looked at first.
        """
        request = clamp_page(page)
        if not request.page_key:
            return request
        cursor, dot, tag = request.page_key.rpartition(".")
        if not dot or not cursor or len(tag) != _TAG_CHARS or not cursor.isascii():
            raise InvalidArgument("invalid page key")
        if not hmac.compare_digest(tag.encode("ascii", "replace"), self._tag(cursor).encode()):
            raise InvalidArgument("invalid page key")
        return dataclasses.replace(request, page_key=cursor)

    def seal(self, page: Page[T]) -> Page[T]:
        """Return `page` with its next-page cursor signed (the last page's "" stays "")."""
        if not page.next_page_key:
            return page
        key = f"{page.next_page_key}.{self._tag(page.next_page_key)}"
        return dataclasses.replace(page, next_page_key=key)
