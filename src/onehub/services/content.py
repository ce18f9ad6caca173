"""The size and depth rules for what users store, on the way in and on the way out.

In: a JSON object nested deeper than MAX_JSON_DEPTH, or message content larger than
MAX_CONTENT_BYTES, is refused with InvalidArgument before anything is stored (see
`onehub.domain.limits` for how both are counted).

Out: rows written before these rules (or straight into the database) are still served, never a
failed read: a too-deep subtree is replaced by null, and content over the limit is cut to fit and
ends with a visible marker (`TRUNCATED_MARKER`), dropping content_data if it alone is too large.
Each such row is logged as a warning once per service (`ReportOnce`), not at every read.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from onehub.domain.errors import InvalidArgument
from onehub.domain.limits import (
    MAX_CONTENT_BYTES,
    MAX_JSON_DEPTH,
    content_size,
    cut_below,
    json_depth,
    struct_size,
)
from onehub.domain.models import Message, User

log = logging.getLogger(__name__)

TRUNCATED_MARKER = "[truncated by OneHub: the stored content is over the size limit]"


def check_json_depth(field: str, value: Mapping[str, Any] | None) -> None:
    """Raise InvalidArgument if `value` nests objects and arrays deeper than MAX_JSON_DEPTH."""
    if value is None:
        return
    depth = json_depth(value)
    if depth > MAX_JSON_DEPTH:
        raise InvalidArgument(
            f"{field} is nested {depth} levels deep; at most {MAX_JSON_DEPTH} levels of "
            "objects and arrays are allowed"
        )


def check_message_content(message: Message) -> None:
    """Raise InvalidArgument if the content is too deep or too large to be stored."""
    check_json_depth("content_data", message.content_data)
    size = content_size(message.content_text, message.content_data)
    if size > MAX_CONTENT_BYTES:
        raise InvalidArgument(
            f"the message content takes {size} bytes; content_text (UTF-8) and content_data "
            f"together may take at most {MAX_CONTENT_BYTES} bytes (32 KiB)"
        )


class ReportOnce:
    """Logs a warning the first time each row is served cut (remembering up to `capacity`)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: set[tuple[str, str]] = set()

    def __call__(self, kind: str, entity_id: str, what: str) -> None:
        if (kind, entity_id) in self._seen:
            return
        if len(self._seen) >= self._capacity:
            self._seen.clear()
        self._seen.add((kind, entity_id))
        log.warning("%s %r is stored %s; it is served cut to the limit", kind, entity_id, what)


def _shallow_enough(value: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if value is None or json_depth(value) <= MAX_JSON_DEPTH:
        return value
    cut: Mapping[str, Any] = cut_below(value, MAX_JSON_DEPTH)
    return cut


def _utf8_prefix(text: str, limit: int) -> str:
    return text.encode("utf-8", "surrogatepass")[: max(limit, 0)].decode("utf-8", "ignore")


def readable_user(user: User, report: ReportOnce) -> User:
    """Return `user` as it may be served: profile_data cut at MAX_JSON_DEPTH."""
    profile = _shallow_enough(user.profile_data)
    if profile is user.profile_data:
        return user
    report("user", user.id, f"with profile_data nested deeper than {MAX_JSON_DEPTH}")
    return dataclasses.replace(user, profile_data=profile)


def readable_message(message: Message, report: ReportOnce) -> Message:
    """Return `message` as it may be served: content_data cut at MAX_JSON_DEPTH, content cut
    to MAX_CONTENT_BYTES and marked."""
    if message.content_data is None and len(message.content_text) <= MAX_CONTENT_BYTES // 4:
        return message  # at most 4 UTF-8 bytes a character: fits without measuring
    data = _shallow_enough(message.content_data)
    if data is not message.content_data:
        report("message", message.id, f"with content_data deeper than {MAX_JSON_DEPTH}")
    text = message.content_text
    size = content_size(text, data)
    if size > MAX_CONTENT_BYTES:
        report("message", message.id, f"with {size} bytes of content")
        marker = "\n" + TRUNCATED_MARKER
        room = MAX_CONTENT_BYTES - len(marker)
        data_size = 0 if data is None else struct_size(data)
        if data_size > room:
            data, data_size = None, 0
        text = _utf8_prefix(text, room - data_size) + marker
    if data is message.content_data and text is message.content_text:
        return message
    return dataclasses.replace(message, content_text=text, content_data=data)
