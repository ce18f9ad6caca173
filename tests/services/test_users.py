"""UserService on the in-memory store: what a caller sees."""

from __future__ import annotations

import pytest

from onehub.domain.errors import AlreadyExists, InvalidArgument, NotFound, PermissionDenied
from onehub.domain.models import PageRequest, User
from onehub.services.bundle import Services
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory

from .conftest import ADMIN, ALICE, BOB


async def test_only_admin_creates_users(services: Services) -> None:
    alice = await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    generated = await services.users.create_user(ADMIN, User(id="", name="Nameless"))

    assert alice.name == "Alice"
    assert alice.created_at is not None
    assert len(generated.id) >= 8
    with pytest.raises(PermissionDenied, match="only admin"):
        await services.users.create_user(ALICE, User(id="mallory", name="M"))
    with pytest.raises(NotFound):
        await services.users.get_user(ALICE, "mallory")


async def test_create_validates_and_refuses_duplicates(services: Services) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    with pytest.raises(AlreadyExists):
        await services.users.create_user(ADMIN, User(id="alice", name="Other"))
    with pytest.raises(InvalidArgument, match="user name is required"):
        await services.users.create_user(ADMIN, User(id="bob", name=""))
    with pytest.raises(InvalidArgument, match="avatar"):
        await services.users.create_user(ADMIN, User(id="bob", name="B", avatar="x" * 3000))


async def test_list_get_and_batch_get(services: Services) -> None:
    for user_id in ["carol", "alice", "bob"]:
        await services.users.create_user(ADMIN, User(id=user_id, name=user_id.title()))

    page = await services.users.list_users(BOB, PageRequest(page_size=2))
    rest = await services.users.list_users(BOB, PageRequest(page.next_page_key, 2))
    found = await services.users.get_users(BOB, ["alice", "zed"])

    assert [u.id for u in page.items] + [u.id for u in rest.items] == ["alice", "bob", "carol"]
    assert list(found) == ["alice"]
    assert (await services.users.get_user(BOB, "carol")).name == "Carol"


async def test_a_user_or_admin_may_update_or_delete_the_record(services: Services) -> None:
    await services.users.create_user(
        ADMIN, User(id="alice", name="Alice", profile_data={"city": "Oslo"})
    )
    await services.users.create_user(ADMIN, User(id="bob", name="Bob"))

    change = User(id="alice", name="Alice L.", avatar="https://a.example/1.png")
    updated = await services.users.update_user(ALICE, change, ["name", "avatar"])
    assert (updated.name, updated.avatar, updated.profile_data) == (
        "Alice L.",
        "https://a.example/1.png",
        {"city": "Oslo"},
    )

    with pytest.raises(PermissionDenied):
        await services.users.update_user(BOB, User(id="alice", name="hacked"), ["name"])
    # Someone who may not change the user learns that, and nothing about the request's fields
    # or whether the user exists.
    with pytest.raises(PermissionDenied):
        await services.users.update_user(BOB, User(id="alice", name="x" * 10_000), ["name"])
    with pytest.raises(PermissionDenied):
        await services.users.update_user(BOB, User(id="alice", name="a"), ["no_such_field"])
    with pytest.raises(PermissionDenied):
        await services.users.update_user(BOB, User(id="nobody", name="n"), ["name"])
    with pytest.raises(PermissionDenied):
        await services.users.delete_user(BOB, "alice")

    cleared = await services.users.update_user(ADMIN, User(id="alice", name="A"), ["*"])
    assert (cleared.name, cleared.avatar, cleared.profile_data) == ("A", "", None)

    await services.users.delete_user(BOB, "bob")
    await services.users.delete_user(ADMIN, "alice")
    assert await services.users.get_users(ADMIN, ["alice", "bob"]) == {}
    with pytest.raises(NotFound):
        await services.users.delete_user(ADMIN, "alice")


@pytest.mark.parametrize(
    ("mask", "fragment"),
    [([], "must name a field"), (["id"], "cannot be changed: 'id'"), (["password"], "password")],
)
async def test_update_refuses_bad_masks(services: Services, mask: list[str], fragment: str) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    with pytest.raises(InvalidArgument, match=fragment):
        await services.users.update_user(ALICE, User(id="alice", name="x"), mask)


async def test_set_password_stores_a_salted_hash_never_the_password(
    services: Services, memory_db: InMemoryDatabase
) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    await services.users.set_password(ALICE, "alice", "correct horse")
    async with memory_uow_factory(memory_db)() as uow:
        first = await uow.users.get_password_hash("alice")
    await services.users.set_password(ADMIN, "alice", "correct horse")
    async with memory_uow_factory(memory_db)() as uow:
        second = await uow.users.get_password_hash("alice")

    assert first is not None
    assert second is not None
    assert first.startswith("$argon2id$")
    assert "correct horse" not in first
    assert first != second  # a fresh salt each time


async def test_set_password_rules(services: Services) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    with pytest.raises(InvalidArgument) as short:
        await services.users.set_password(ALICE, "alice", "s3cret!")
    assert "s3cret!" not in str(short.value)
    with pytest.raises(PermissionDenied):
        await services.users.set_password(BOB, "alice", "long enough password")
    with pytest.raises(NotFound):
        await services.users.set_password(ADMIN, "ghost", "long enough password")
