"""Page-size rules shared by every list."""

from __future__ import annotations

from onehub.domain.errors import InvalidArgument
from onehub.domain.models import PageRequest

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_PAGE_KEY_LENGTH = 1024


def clamp_page(page: PageRequest) -> PageRequest:
    """Return `page` with its size defaulted (0 → 100) and capped (→ 1000).

    Raise InvalidArgument for a negative size or an absurdly long cursor; whether the cursor is
    one the store made is the store's to judge.
    """
    if page.page_size < 0:
        raise InvalidArgument("page_size must not be negative")
    if len(page.page_key) > MAX_PAGE_KEY_LENGTH:
        raise InvalidArgument("page_key is not a valid page key")
    size = page.page_size or DEFAULT_PAGE_SIZE
    return PageRequest(page_key=page.page_key, page_size=min(size, MAX_PAGE_SIZE))
