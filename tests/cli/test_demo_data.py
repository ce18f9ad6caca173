"""The demo community's generator: believable, bounded in time, and the same from a seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from onehub.cli.demo_data import SPAN, build_community

NOW = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def test_the_same_seed_and_time_give_the_same_community() -> None:
    assert build_community(NOW) == build_community(NOW)
    assert build_community(NOW, seed=1) != build_community(NOW, seed=2)


def test_people_topics_and_message_ids_do_not_depend_on_the_time() -> None:
    earlier = build_community(NOW - timedelta(days=3, hours=5))
    later = build_community(NOW)

    assert earlier.users == later.users
    assert earlier.topics == later.topics
    assert [m.id for m in earlier.messages] == [m.id for m in later.messages]


@pytest.mark.parametrize(("users", "messages"), [(30, 3000), (5, 1), (200, 500), (3, 0)])
def test_exactly_the_numbers_asked_for(users: int, messages: int) -> None:
    community = build_community(NOW, users=users, messages=messages)

    assert len(community.users) == users
    assert len({u.id for u in community.users}) == users
    assert len(community.messages) == messages
    assert len({m.id for m in community.messages}) == messages


def test_people_look_like_people() -> None:
    community = build_community(NOW)

    for user in community.users:
        first, last = user.name.split(" ")
        assert user.id.startswith(first.lower()[:2])
        assert user.avatar.startswith("data:image/svg+xml")
        assert f">{first[0]}{last[0]}</text>" in user.avatar
        assert user.profile["city"] in str(user.profile["bio"])


def test_a_week_of_conversation_from_the_members_of_each_topic() -> None:
    community = build_community(NOW)
    members = {topic.id: set(topic.members) for topic in community.topics}
    by_id = {m.id: m for m in community.messages}

    stamps = [m.created_at for m in community.messages]
    assert stamps == sorted(stamps)
    assert stamps[0] >= NOW - SPAN
    assert stamps[-1] < NOW
    for message in community.messages:
        assert message.creator_id in members[message.topic_id]
        if message.parent_id:
            parent = by_id[message.parent_id]
            assert parent.topic_id == message.topic_id
            assert parent.created_at < message.created_at
    assert sum(1 for m in community.messages if m.parent_id) > 300
    # Conversations: most messages follow the previous one of their topic within 15 minutes.
    last_in_topic: dict[str, datetime] = {}
    close = 0
    for message in community.messages:
        previous = last_in_topic.get(message.topic_id)
        close += previous is not None and message.created_at - previous <= timedelta(minutes=15)
        last_in_topic[message.topic_id] = message.created_at
    assert close > len(community.messages) / 2
