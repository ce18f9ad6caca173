"""Signed page keys, the content size limit and the JSON depth limit, in the services (every
backend), and how rows stored before the limits are served."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from onehub.domain.errors import InvalidArgument
from onehub.domain.limits import MAX_CONTENT_BYTES, MAX_JSON_DEPTH, json_depth
from onehub.domain.models import ADMIN_ID, Message, PageRequest, Principal, Topic, User
from onehub.services.bundle import build_services
from onehub.services.content import TRUNCATED_MARKER, ReportOnce, readable_message, readable_user
from onehub.services.paging import PageKeys
from onehub.services.ports import UnitOfWorkFactory

from .conftest import cheap_hasher

ADMIN = Principal(ADMIN_ID)


def _nested(levels: int) -> dict[str, Any]:
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    result: dict[str, Any] = value
    return result


async def _three_topics(uow_factory: UnitOfWorkFactory, secret: bytes) -> str:
    services = build_services(uow_factory, page_key_secret=secret, password_hasher=cheap_hasher())
    for name in "abc":
        await services.topics.create_topic(ADMIN, Topic(id=name, creator_id="", name=name))
    page = await services.topics.list_topics(ADMIN, PageRequest(page_size=1))
    return page.next_page_key


async def test_page_keys_only_work_with_the_secret_that_signed_them(
    uow_factory: UnitOfWorkFactory,
) -> None:
    key = await _three_topics(uow_factory, b"s" * 32)
    same = build_services(uow_factory, page_key_secret=b"s" * 32)
    other = build_services(uow_factory, page_key_secret=b"t" * 32)
    page = await same.topics.list_topics(ADMIN, PageRequest(key, 1))
    assert [t.name for t in page.items] == ["b"]
    with pytest.raises(InvalidArgument, match=r"^invalid page key$"):
        await other.topics.list_topics(ADMIN, PageRequest(key, 1))
    cursor = key.rpartition(".")[0]
    for forged in (cursor, key[:-1], key + "A", "x" + key, key.replace(".", "\x00."), "." * 30):
        with pytest.raises(InvalidArgument, match=r"^invalid page key$"):
            await same.topics.list_topics(ADMIN, PageRequest(forged, 1))


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        PageKeys(b"short")


async def test_services_refuse_content_and_depth_over_the_limits(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    await services.topics.create_topic(ADMIN, Topic(id="t", creator_id="", name="t"))
    ok = Message(id="m", creator_id="", topic_id="t", content_text="x" * MAX_CONTENT_BYTES)
    await services.messages.create_messages(ADMIN, "t", [ok])
    too_big = Message(
        id="n",
        creator_id="",
        topic_id="t",
        content_text="x" * 100,
        content_data={"k": "y" * MAX_CONTENT_BYTES},
    )
    with pytest.raises(InvalidArgument, match=r"messages\[0\]: .*at most 32768 bytes"):
        await services.messages.create_messages(ADMIN, "t", [too_big])
    deep = Message(id="d", creator_id="", topic_id="t", content_data=_nested(MAX_JSON_DEPTH + 1))
    with pytest.raises(InvalidArgument, match="content_data is nested 31 levels deep"):
        await services.messages.create_messages(ADMIN, "t", [deep])
    with pytest.raises(InvalidArgument, match="profile_data is nested 31 levels deep"):
        await services.users.create_user(
            ADMIN, User(id="u", name="U", profile_data=_nested(MAX_JSON_DEPTH + 1))
        )
    await services.users.create_user(ADMIN, User(id="u", name="U", profile_data=_nested(30)))
    assert [
        m.id for m in (await services.messages.list_messages(ADMIN, "t", PageRequest())).items
    ] == ["m"]


def test_old_rows_are_served_cut_marked_and_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="onehub.services.content")
    report = ReportOnce()
    big = Message(id="big", creator_id="a", topic_id="t", content_text="é" * 100_000)
    for _ in range(3):
        served = readable_message(big, report)
    assert served.content_text.endswith(TRUNCATED_MARKER)
    assert MAX_CONTENT_BYTES - 4 <= len(served.content_text.encode()) <= MAX_CONTENT_BYTES
    user = User(id="deep", name="D", profile_data=_nested(50))
    cut = readable_user(user, report)
    assert cut.profile_data is not None
    assert json_depth(cut.profile_data) == MAX_JSON_DEPTH
    assert [r.getMessage().split(" is stored")[0] for r in caplog.records] == [
        "message 'big'",
        "user 'deep'",
    ]
    small = Message(id="s", creator_id="a", topic_id="t", content_text="hi", content_data={"k": 1})
    assert readable_message(small, report) is small


async def test_the_longest_genuine_keys_are_accepted(uow_factory: UnitOfWorkFactory) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    for i in range(3):
        name, topic_id = "😀" * 255 + str(i), "😀" * 127 + str(i)
        await services.topics.create_topic(ADMIN, Topic(id=topic_id, creator_id="", name=name))
    key = (await services.topics.list_topics(ADMIN, PageRequest(page_size=1))).next_page_key
    assert len(key) > 6000
    page = await services.topics.list_topics(ADMIN, PageRequest(key, 1))
    assert page.items[0].name.endswith("1")
