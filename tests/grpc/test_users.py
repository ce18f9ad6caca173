"""UserService through the generated stubs on a real server."""

from __future__ import annotations

import grpc
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.struct_pb2 import Struct

from onehub.gen.onehub.v1 import models_pb2
from onehub.gen.onehub.v1 import users_pb2 as pb

from .conftest import ADMIN, ALICE, BOB, Hub
from .test_topics import status_of


def user(user_id: str, name: str, **profile: object) -> models_pb2.User:
    data = Struct()
    data.update(profile)
    return models_pb2.User(id=user_id, name=name, profile_data=data if profile else None)


async def test_admin_creates_users_others_may_not(hub: Hub) -> None:
    created = await hub.users.CreateUser(
        pb.CreateUserRequest(user=user("alice", "Alice", age=30)), metadata=ADMIN
    )
    assert created.user.id == "alice"
    assert created.user.profile_data.fields["age"].number_value == 30

    code, detail = await status_of(
        hub.users.CreateUser(pb.CreateUserRequest(user=user("m", "M")), metadata=ALICE)
    )
    assert (code, detail) == (grpc.StatusCode.PERMISSION_DENIED, "only admin may create users")
    code, _ = await status_of(
        hub.users.CreateUser(pb.CreateUserRequest(user=user("alice", "Again")), metadata=ADMIN)
    )
    assert code is grpc.StatusCode.ALREADY_EXISTS
    code, _ = await status_of(
        hub.users.CreateUser(pb.CreateUserRequest(user=user("n", "")), metadata=ADMIN)
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT


async def test_list_get_batch_get_update_delete(hub: Hub) -> None:
    for user_id in ["bob", "alice"]:
        await hub.users.CreateUser(
            pb.CreateUserRequest(user=user(user_id, user_id.upper())), metadata=ADMIN
        )

    listed = await hub.users.ListUsers(pb.ListUsersRequest(), metadata=BOB)
    got = await hub.users.GetUser(pb.GetUserRequest(id="alice"), metadata=BOB)
    batch = await hub.users.GetUsers(pb.GetUsersRequest(ids=["alice", "zed"]), metadata=BOB)
    assert [u.id for u in listed.users] == ["alice", "bob"]
    assert not got.user.HasField("profile_data")
    assert list(batch.users) == ["alice"]

    updated = await hub.users.UpdateUser(
        pb.UpdateUserRequest(
            user=user("alice", "Alice", city="Zürich"),
            update_mask=FieldMask(paths=["profile_data"]),
        ),
        metadata=ALICE,
    )
    assert updated.user.name == "ALICE"
    assert updated.user.profile_data.fields["city"].string_value == "Zürich"

    hijack = pb.UpdateUserRequest(
        user=user("alice", "pwned"), update_mask=FieldMask(paths=["name"])
    )
    assert (await status_of(hub.users.UpdateUser(hijack, metadata=BOB)))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED
    no_mask = pb.UpdateUserRequest(user=user("alice", "x"))
    assert (await status_of(hub.users.UpdateUser(no_mask, metadata=ALICE)))[
        0
    ] is grpc.StatusCode.INVALID_ARGUMENT

    delete = pb.DeleteUserRequest(id="alice")
    assert (await status_of(hub.users.DeleteUser(delete, metadata=BOB)))[
        0
    ] is grpc.StatusCode.PERMISSION_DENIED
    await hub.users.DeleteUser(delete, metadata=ALICE)
    assert (await status_of(hub.users.GetUser(pb.GetUserRequest(id="alice"), metadata=BOB)))[
        0
    ] is grpc.StatusCode.NOT_FOUND
