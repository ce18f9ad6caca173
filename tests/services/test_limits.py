"""Signed page keys, the content and profile size limits, the JSON depth limit and the topic
membership limits, in the services (every backend), and how rows stored before the limits are
served."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import pytest

from onehub.domain.errors import InvalidArgument
from onehub.domain.limits import (
    MAX_CONTENT_BYTES,
    MAX_JSON_DEPTH,
    MAX_MEMBER_ID_BYTES,
    MAX_PROFILE_DATA_BYTES,
    MAX_TOPIC_MEMBERS,
    json_depth,
    member_ids_size,
    struct_size,
)
from onehub.domain.models import ADMIN_ID, Message, PageRequest, Principal, Topic, User
from onehub.services.bundle import build_services
from onehub.services.content import (
    PROFILE_CUT_KEY,
    TRUNCATED_MARKER,
    ReportOnce,
    readable_message,
    readable_topic,
    readable_user,
)
from onehub.services.paging import PageKeys
from onehub.services.ports import UnitOfWorkFactory

from .conftest import cheap_hasher

ADMIN = Principal(ADMIN_ID)
ALICE = Principal("alice")


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


async def _stored_topic(uow_factory: UnitOfWorkFactory, topic: Topic) -> None:
    """Write `topic` straight through the store, as a OneHub from before the limits did."""
    async with uow_factory() as uow:
        await uow.topics.add(topic)
        await uow.commit()


async def test_topic_membership_over_the_limits_is_refused_and_nothing_stored(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    long_ids = frozenset(f"{n:03d}" + "x" * 125 for n in range(MAX_MEMBER_ID_BYTES // 128 + 1))
    for members, fragment in [
        (frozenset(f"u{n}" for n in range(MAX_TOPIC_MEMBERS + 1)), "at most 1000 user ids"),
        (long_ids, rf"users: .* take {member_ids_size(long_ids)} bytes .* at most 32768 bytes"),
        (frozenset({"ghost", "bob"}), r"users: .* no user has the id 'bob', 'ghost'$"),
    ]:
        with pytest.raises(InvalidArgument, match=fragment):
            await services.topics.create_topic(
                ALICE, Topic(id="t", creator_id="", name="t", users=members)
            )
    assert (await services.topics.list_topics(ADMIN, PageRequest())).items == []

    await services.users.create_user(ADMIN, User(id="bob", name="Bob"))
    # The caller needs no user record to be a member (dev auth signs in anyone).
    await services.topics.create_topic(
        ALICE, Topic(id="t", creator_id="", name="t", users=frozenset({"alice", "bob"}))
    )
    before = await services.topics.get_topic(ALICE, "t")
    with pytest.raises(InvalidArgument, match="no user has the id 'ghost'"):
        await services.topics.update_topic(ALICE, before, [], add_users=["ghost"])
    with pytest.raises(InvalidArgument, match="no user has the id 'ghost'"):
        await services.topics.update_topic(
            ALICE, dataclasses.replace(before, users=frozenset({"ghost"})), ["users"]
        )
    assert await services.topics.get_topic(ALICE, "t") == before


async def test_appends_past_the_member_limit_are_refused_but_old_topics_may_shrink(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    await services.users.create_user(ADMIN, User(id="bob", name="Bob"))
    crowd = frozenset(f"m{n:04d}" for n in range(MAX_TOPIC_MEMBERS + 500))
    await _stored_topic(uow_factory, Topic(id="old", creator_id="alice", name="old", users=crowd))
    await _stored_topic(
        uow_factory,
        Topic(id="full", creator_id="alice", name="full", users=frozenset(sorted(crowd)[:1000])),
    )
    full = await services.topics.get_topic(ALICE, "full")
    with pytest.raises(InvalidArgument, match="at most 1000 members; this one would have 1001"):
        await services.topics.update_topic(ALICE, full, [], add_users=["bob"])
    assert await services.topics.get_topic(ALICE, "full") == full

    old = await services.topics.get_topic(ALICE, "old")
    assert len(old.users) == MAX_TOPIC_MEMBERS  # served cut: the first members by id
    assert sorted(old.users) == sorted(crowd)[:MAX_TOPIC_MEMBERS]
    renamed = await services.topics.update_topic(
        ALICE, dataclasses.replace(old, name="renamed"), ["name"], remove_users=["m0000"]
    )
    assert renamed.name == "renamed"
    assert "m0000" not in renamed.users
    assert len(renamed.users) == MAX_TOPIC_MEMBERS
    with pytest.raises(InvalidArgument, match="at most 1000 members"):
        await services.topics.update_topic(ALICE, renamed, [], add_users=["bob"])
    page = await services.topics.list_topics(ADMIN, PageRequest())
    assert [len(t.users) for t in page.items] == [MAX_TOPIC_MEMBERS, MAX_TOPIC_MEMBERS]
    batch = await services.topics.get_topics(ADMIN, ["old"])
    assert len(batch["old"].users) == MAX_TOPIC_MEMBERS


async def test_profile_data_over_32_kib_is_refused_on_create_and_update(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    fits = {"bio": "x" * (MAX_PROFILE_DATA_BYTES - 20)}
    assert struct_size(fits) <= MAX_PROFILE_DATA_BYTES
    await services.users.create_user(ADMIN, User(id="u", name="U", profile_data=fits))
    too_big = {"bio": "x" * MAX_PROFILE_DATA_BYTES}
    with pytest.raises(InvalidArgument, match=r"profile_data takes 327\d\d bytes .* 32768"):
        await services.users.create_user(ADMIN, User(id="v", name="V", profile_data=too_big))
    stored = await services.users.get_user(ADMIN, "u")
    with pytest.raises(InvalidArgument, match="profile_data takes"):
        await services.users.update_user(
            Principal("u"), dataclasses.replace(stored, profile_data=too_big), ["profile_data"]
        )
    with pytest.raises(InvalidArgument, match="avatar is longer than 2048"):
        await services.users.update_user(
            Principal("u"), dataclasses.replace(stored, avatar="a" * 2049), ["*"]
        )
    assert await services.users.get_user(ADMIN, "u") == stored
    assert [u.id for u in (await services.users.list_users(ADMIN, PageRequest())).items] == ["u"]


async def test_users_stored_over_the_profile_limit_are_served_cut_and_still_editable(
    uow_factory: UnitOfWorkFactory,
) -> None:
    services = build_services(uow_factory, password_hasher=cheap_hasher())
    legacy = {"a": "x" * 20_000, "b": "y" * 20_000, "c": 1}
    async with uow_factory() as uow:
        await uow.users.add(User(id="old", name="Old", profile_data=legacy))
        await uow.commit()
    served = await services.users.get_user(ADMIN, "old")
    assert served.profile_data == {"a": "x" * 20_000, PROFILE_CUT_KEY: TRUNCATED_MARKER}
    renamed = await services.users.update_user(
        Principal("old"), dataclasses.replace(served, name="Renamed"), ["name"]
    )
    assert (renamed.name, renamed.profile_data) == ("Renamed", served.profile_data)
    listed = await services.users.list_users(ADMIN, PageRequest())
    assert listed.items[0].profile_data == served.profile_data


def test_cut_topics_and_profiles_are_reported_once(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="onehub.services.content")
    report = ReportOnce()
    long_ids = frozenset(f"{n:03d}" + "é" * 100 for n in range(200))  # 40,600 bytes of ids
    topic = Topic(id="t", creator_id="a", name="t", users=long_ids)
    for _ in range(3):
        served = readable_topic(topic, report)
    assert member_ids_size(served.users) <= MAX_MEMBER_ID_BYTES
    assert len(served.users) == MAX_MEMBER_ID_BYTES // 203
    user = User(id="big", name="B", profile_data={"k": "v" * 40_000})
    for _ in range(3):
        cut = readable_user(user, report)
    assert cut.profile_data == {PROFILE_CUT_KEY: TRUNCATED_MARKER}
    assert [r.getMessage().split(" is stored")[0] for r in caplog.records] == [
        "topic 't'",
        "user 'big'",
    ]
    small = Topic(id="s", creator_id="a", name="s", users=frozenset({"a", "b"}))
    assert readable_topic(small, report) is small
