"""Checks every store applies before writing, so all backends refuse the same input.

PostgreSQL cannot store NUL characters in text or JSON, and JSON columns need plain JSON values;
refusing these up front turns a driver error (a 500) into a clear InvalidArgument everywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from onehub.domain.errors import AlreadyExists, InvalidArgument
from onehub.domain.models import Message


def check_text(field: str, value: str) -> None:
    """Raise InvalidArgument if `value` has a NUL character or is not encodable as UTF-8."""
    if "\x00" in value:
        raise InvalidArgument(f"{field} must not contain NUL characters")
    if not _is_utf8(value):
        raise InvalidArgument(f"{field} must be valid Unicode text (no lone surrogates)")


def _is_utf8(value: str) -> bool:
    if value.isascii():  # no surrogates possible; no copy made (checked per bulk-import field)
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json(field: str, value: Mapping[str, Any] | None) -> None:
    """Raise InvalidArgument unless `value` is None or a JSON object without NUL characters."""
    if value is None:
        return
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidArgument(f"{field} must be a JSON object") from None
    if _has_bad_text(value):
        raise InvalidArgument(f"{field} must not contain NUL characters or lone surrogates")


def _has_bad_text(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value or not _is_utf8(value)
    if isinstance(value, Mapping):
        return any(_has_bad_text(k) or _has_bad_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_bad_text(item) for item in value)
    return False


def check_id(field: str, value: str) -> None:
    """Raise InvalidArgument for an empty id or one containing NUL characters."""
    if not value:
        raise InvalidArgument(f"{field} must not be empty")
    check_text(field, value)


def check_message(message: Message) -> None:
    """Raise InvalidArgument for a message no backend may store (bad ids, text or JSON)."""
    check_id("message id", message.id)
    check_id("topic_id", message.topic_id)
    check_text("creator_id", message.creator_id)
    check_text("content_type", message.content_type)
    check_text("content_text", message.content_text)
    check_text("parent_message_id", message.parent_message_id)
    check_json("content_data", message.content_data)


def check_message_batch(messages: Sequence[Message]) -> None:
    """Check every message of a batch; AlreadyExists if one id appears twice in it."""
    seen: set[str] = set()
    for message in messages:
        check_message(message)
        if message.id in seen:
            raise AlreadyExists(f"message {message.id!r} appears twice in the batch")
        seen.add(message.id)
