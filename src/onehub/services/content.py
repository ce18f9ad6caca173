"""The size and depth rules for what users store, on the way in and on the way out.

In: a JSON object nested deeper than MAX_JSON_DEPTH, message content larger than
MAX_CONTENT_BYTES, profile data larger than MAX_PROFILE_DATA_BYTES, or a topic membership over
MAX_TOPIC_MEMBERS members or MAX_MEMBER_ID_BYTES of ids, is refused with InvalidArgument before
anything is stored (see `onehub.domain.limits` for how each is counted).

Out: rows written before these rules (or straight into the database) are still served, never a
failed read: a too-deep subtree is replaced by null; content over the limit is cut to fit and
ends with a visible marker (`TRUNCATED_MARKER`), dropping content_data if it alone is too large;
profile data over the limit keeps its first keys that fit plus `PROFILE_CUT_KEY` holding the
marker; a membership over the limit is served as its first members by id that fit (the stored
list is kept, and an update may still remove members from it). Each such row is logged as a
warning once per service (`ReportOnce`), not at every read.
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
    MAX_MEMBER_ID_BYTES,
    MAX_PROFILE_DATA_BYTES,
    MAX_TOPIC_MEMBERS,
    content_size,
    cut_below,
    json_depth,
    member_ids_size,
    struct_size,
)
from onehub.domain.models import Message, Topic, User

log = logging.getLogger(__name__)

TRUNCATED_MARKER = "[truncated by OneHub: the stored content is over the size limit]"
# The key that marks profile data served cut; it holds TRUNCATED_MARKER.
PROFILE_CUT_KEY = "truncatedByOneHub"


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


def check_profile_data(value: Mapping[str, Any] | None) -> None:
    """Raise InvalidArgument if `value` is too deep or larger than MAX_PROFILE_DATA_BYTES."""
    check_json_depth("profile_data", value)
    size = 0 if value is None else struct_size(value)
    if size > MAX_PROFILE_DATA_BYTES:
        raise InvalidArgument(
            f"profile_data takes {size} bytes (as a protobuf Struct); at most "
            f"{MAX_PROFILE_DATA_BYTES} bytes (32 KiB) are allowed"
        )


def check_members(user_ids: frozenset[str]) -> None:
    """Raise InvalidArgument if a topic with these members would be over MAX_TOPIC_MEMBERS
    members or MAX_MEMBER_ID_BYTES bytes of member ids."""
    if len(user_ids) > MAX_TOPIC_MEMBERS:
        raise InvalidArgument(
            f"users: a topic may have at most {MAX_TOPIC_MEMBERS} members; "
            f"this one would have {len(user_ids)}"
        )
    size = member_ids_size(user_ids)
    if size > MAX_MEMBER_ID_BYTES:
        raise InvalidArgument(
            f"users: the member ids would take {size} bytes (UTF-8); a topic's member ids may "
            f"take at most {MAX_MEMBER_ID_BYTES} bytes (32 KiB) together"
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


def _small_enough(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if struct_size(value) <= MAX_PROFILE_DATA_BYTES:
        return value
    room = MAX_PROFILE_DATA_BYTES - struct_size({PROFILE_CUT_KEY: TRUNCATED_MARKER})
    kept: dict[str, Any] = {}
    for key, item in value.items():
        entry = struct_size({key: item})
        if entry > room:
            break
        kept[key] = item
        room -= entry
    kept[PROFILE_CUT_KEY] = TRUNCATED_MARKER
    return kept


def readable_user(user: User, report: ReportOnce) -> User:
    """Return `user` as it may be served: profile_data cut at MAX_JSON_DEPTH, then to
    MAX_PROFILE_DATA_BYTES and marked."""
    profile = _shallow_enough(user.profile_data)
    if profile is not user.profile_data:
        report("user", user.id, f"with profile_data nested deeper than {MAX_JSON_DEPTH}")
    if profile is not None:
        small = _small_enough(profile)
        if small is not profile:
            report("user", user.id, f"with {struct_size(profile)} bytes of profile_data")
        profile = small
    if profile is user.profile_data:
        return user
    return dataclasses.replace(user, profile_data=profile)


def readable_topic(topic: Topic, report: ReportOnce) -> Topic:
    """Return `topic` as it may be served: its members cut to the first by id that fit in
    MAX_TOPIC_MEMBERS and MAX_MEMBER_ID_BYTES."""
    size = member_ids_size(topic.users)
    if len(topic.users) <= MAX_TOPIC_MEMBERS and size <= MAX_MEMBER_ID_BYTES:
        return topic
    report("topic", topic.id, f"with {len(topic.users)} members ({size} bytes of ids)")
    kept: list[str] = []
    room = MAX_MEMBER_ID_BYTES
    for user_id in sorted(topic.users):
        room -= member_ids_size((user_id,))
        if room < 0 or len(kept) == MAX_TOPIC_MEMBERS:
            break
        kept.append(user_id)
    return dataclasses.replace(topic, users=frozenset(kept))


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
