"""The largest page a client can be sent fits the gRPC message limit of both hops: 1,000 topics
or users (listed or batch-got), each with every field at its limit, encoded by protobuf."""

from __future__ import annotations

from datetime import UTC, datetime

from onehub.domain.limits import (
    MAX_MEMBER_ID_BYTES,
    MAX_PROFILE_DATA_BYTES,
    MAX_TOPIC_MEMBERS,
    struct_size,
)
from onehub.domain.models import Topic, User
from onehub.gen.onehub.v1 import models_pb2, topics_pb2, users_pb2
from onehub.services.content import check_members, check_profile_data
from onehub.services.ids import MAX_ID_LENGTH, MAX_NAME_LENGTH, validate_id, validate_name
from onehub.services.paging import MAX_PAGE_KEY_LENGTH, MAX_PAGE_SIZE
from onehub.services.users import MAX_AVATAR_LENGTH
from onehub.transport.grpc.convert import topic_to_proto, user_to_proto
from onehub.transport.grpc.limits import MAX_GRPC_MESSAGE_BYTES

NOW = datetime(2026, 12, 5, 12, 0, 0, 123456, tzinfo=UTC)
WIDE = "😀"  # 4 bytes of UTF-8: the most a character of a name or id can take


def _largest_id(n: int) -> str:
    return validate_id(f"{n:04d}" + WIDE * (MAX_ID_LENGTH - 4), "id")


def _largest_profile() -> dict[str, str]:
    length = MAX_PROFILE_DATA_BYTES
    while (excess := struct_size({"bio": "x" * length}) - MAX_PROFILE_DATA_BYTES) > 0:
        length -= excess
    profile = {"bio": "x" * length}
    check_profile_data(profile)
    return profile


def _largest_user(n: int, profile: dict[str, str]) -> User:
    return User(
        id=_largest_id(n),
        name=validate_name(WIDE * MAX_NAME_LENGTH, "name"),
        avatar=WIDE * MAX_AVATAR_LENGTH,
        profile_data=profile,
        created_at=NOW,
        updated_at=NOW,
    )


def _largest_topic(n: int) -> Topic:
    # The most members with ids filling the byte limit: the per-member overhead is largest.
    id_bytes = MAX_MEMBER_ID_BYTES // MAX_TOPIC_MEMBERS
    members = frozenset(f"{m:04d}" + "m" * (id_bytes - 4) for m in range(MAX_TOPIC_MEMBERS))
    check_members(members)
    return Topic(
        id=_largest_id(n),
        creator_id=_largest_id(n + 1),
        name=validate_name(WIDE * MAX_NAME_LENGTH, "name"),
        users=members,
        created_at=NOW,
        updated_at=NOW,
    )


def _pagination() -> models_pb2.PaginationResponse:
    return models_pb2.PaginationResponse(
        next_page_key="k" * MAX_PAGE_KEY_LENGTH,
        has_more_results=True,
        total_num_results=-1,  # ten bytes
    )


def test_a_full_page_of_the_largest_users_fits_the_grpc_limit() -> None:
    profile = _largest_profile()
    users = [user_to_proto(_largest_user(n, profile)) for n in range(MAX_PAGE_SIZE)]
    listed = users_pb2.ListUsersResponse(users=users, pagination=_pagination())
    batch = users_pb2.GetUsersResponse(users={user.id: user for user in users})
    for response in (listed, batch):
        size = response.ByteSize()
        assert size > MAX_PAGE_SIZE * MAX_PROFILE_DATA_BYTES  # the page is as large as it gets
        assert size < MAX_GRPC_MESSAGE_BYTES * 0.75, size


def test_a_full_page_of_the_largest_topics_fits_the_grpc_limit() -> None:
    topics = [topic_to_proto(_largest_topic(n)) for n in range(MAX_PAGE_SIZE)]
    listed = topics_pb2.ListTopicsResponse(topics=topics, pagination=_pagination())
    batch = topics_pb2.GetTopicsResponse(topics={topic.base.id: topic for topic in topics})
    for response in (listed, batch):
        size = response.ByteSize()
        assert size > MAX_PAGE_SIZE * MAX_MEMBER_ID_BYTES
        assert size < MAX_GRPC_MESSAGE_BYTES * 0.75, size
