"""UserStore contract, on every backend (the `uow_factory` fixture)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from onehub.domain.errors import Aborted, AlreadyExists, InvalidArgument, NotFound
from onehub.domain.models import PageRequest, User
from onehub.services.ports import UnitOfWorkFactory

from .helpers import TRICKY_TEXTS, seed, walk_pages


async def test_add_then_get_returns_the_stored_user(uow_factory: UnitOfWorkFactory) -> None:
    before = datetime.now(UTC)
    async with uow_factory() as uow:
        added = await uow.users.add(User("u1", "Ann", "a.png", {"lang": "en", "n": [1, 2.5]}))
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.users.get("u1")
    assert stored == added
    assert stored.name == "Ann"
    assert stored.avatar == "a.png"
    assert stored.profile_data == {"lang": "en", "n": [1, 2.5]}
    assert stored.version == 1
    assert stored.created_at is not None
    assert stored.created_at >= before
    assert stored.created_at.tzinfo is not None
    assert stored.updated_at == stored.created_at


async def test_user_without_profile_keeps_none(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        stored = await uow.users.get("u1")
    assert stored is not None
    assert stored.profile_data is None
    assert stored.avatar == ""


@pytest.mark.parametrize("text", TRICKY_TEXTS)
async def test_every_text_field_round_trips(uow_factory: UnitOfWorkFactory, text: str) -> None:
    user = User(id=text, name=text, avatar=text, profile_data={text: text, "k": [text]})
    await seed(uow_factory, users=[user])
    async with uow_factory() as uow:
        stored = await uow.users.get(text)
        listed = await uow.users.list(PageRequest(page_size=10))
    assert stored is not None
    assert (stored.id, stored.name, stored.avatar) == (text, text, text)
    assert stored.profile_data == {text: text, "k": [text]}
    assert [u.id for u in listed.items] == [text]


async def test_get_of_missing_user_is_none(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        assert await uow.users.get("nobody") is None


async def test_adding_a_taken_id_names_it(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        with pytest.raises(AlreadyExists, match="u1"):
            await uow.users.add(User("u1", "Other"))
        # The unit of work stays usable after the refusal.
        await uow.users.add(User("u2", "Bob"))
        await uow.commit()
    async with uow_factory() as uow:
        kept = await uow.users.get("u1")
        assert kept is not None
        assert kept.name == "Ann"
        assert await uow.users.get("u2") is not None


@pytest.mark.parametrize(
    "user",
    [
        User("", "empty id"),
        User("u\x00", "nul in id"),
        User("u1", "nul\x00name"),
        User("u1", "n", avatar="\x00"),
        User("u1", "n", profile_data={"k": "v\x00"}),
        User("u1", "n", profile_data={"k": float("nan")}),
        User("u1", "n", profile_data={"k": object()}),
        User("u1", "lone \ud800 surrogate"),
        User("u1", "n", profile_data={"\udfff": 1}),
    ],
    ids=[
        "empty-id",
        "nul-id",
        "nul-name",
        "nul-avatar",
        "nul-json",
        "nan-json",
        "not-json",
        "surrogate-name",
        "surrogate-json",
    ],
)
async def test_unstorable_users_are_invalid_argument(
    uow_factory: UnitOfWorkFactory, user: User
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(InvalidArgument):
            await uow.users.add(user)


async def test_get_many_returns_only_existing_ids(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User(f"u{i}", f"n{i}") for i in range(3)])
    async with uow_factory() as uow:
        found = await uow.users.get_many(["u2", "missing", "u0", "u2"])
        empty = await uow.users.get_many([])
    assert sorted(found) == ["u0", "u2"]
    assert found["u2"].name == "n2"
    assert dict(empty) == {}


async def test_get_many_handles_more_ids_than_one_query_takes(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, users=[User(f"u{i:04}", "n") for i in range(0, 1200, 3)])
    async with uow_factory() as uow:
        found = await uow.users.get_many([f"u{i:04}" for i in range(1200)])
    assert len(found) == 400


async def test_list_pages_by_id_with_exact_totals(uow_factory: UnitOfWorkFactory) -> None:
    ids = ["b", "a", "C", "é", "a2", "0", "z"]
    await seed(uow_factory, users=[User(i, "n") for i in ids])
    async with uow_factory() as uow:
        pages = await walk_pages(uow.users.list, page_size=3)
    assert [[u.id for u in p.items] for p in pages] == [["0", "C", "a"], ["a2", "b", "z"], ["é"]]
    assert [p.total for p in pages] == [7, 7, 7]
    assert [p.has_more for p in pages] == [True, True, False]
    assert pages[-1].next_page_key == ""


async def test_list_of_exactly_one_full_page_has_no_more(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User(f"u{i}", "n") for i in range(4)])
    async with uow_factory() as uow:
        page = await uow.users.list(PageRequest(page_size=4))
        empty = await uow.users.list(PageRequest(page_size=0))
    assert len(page.items) == 4
    assert not page.has_more
    assert page.next_page_key == ""
    assert len(empty.items) == 4  # 0 means the default size


async def test_update_replaces_fields_and_increments_version(
    uow_factory: UnitOfWorkFactory,
) -> None:
    await seed(uow_factory, users=[User("u1", "Ann", "a.png", {"x": 1})])
    async with uow_factory() as uow:
        original = await uow.users.get("u1")
        assert original is not None
        updated = await uow.users.update(User("u1", "Anna", "", None), expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.users.get("u1")
    assert stored == updated
    assert (stored.name, stored.avatar, stored.profile_data, stored.version) == (
        "Anna",
        "",
        None,
        2,
    )
    assert stored.created_at == original.created_at
    assert stored.updated_at is not None
    assert original.updated_at is not None
    assert stored.updated_at > original.updated_at


async def test_update_with_stale_version_is_aborted(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        await uow.users.update(User("u1", "v2"), expected_version=1)
        with pytest.raises(Aborted, match="u1"):
            await uow.users.update(User("u1", "v3"), expected_version=1)
        await uow.commit()
    async with uow_factory() as uow:
        stored = await uow.users.get("u1")
    assert stored is not None
    assert (stored.name, stored.version) == ("v2", 2)


async def test_update_of_missing_user_is_not_found(uow_factory: UnitOfWorkFactory) -> None:
    async with uow_factory() as uow:
        with pytest.raises(NotFound, match="ghost"):
            await uow.users.update(User("ghost", "x"), expected_version=1)


async def test_delete_reports_whether_there_was_a_user(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        assert await uow.users.delete("u1") is True
        assert await uow.users.delete("u1") is False
        assert await uow.users.delete("never") is False
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get("u1") is None
        assert (await uow.users.list(PageRequest(page_size=5))).total == 0


async def test_password_hash_is_stored_per_user(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann"), User("u2", "Bob")])
    hashed = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA'; --"
    async with uow_factory() as uow:
        assert await uow.users.get_password_hash("u1") is None
        await uow.users.set_password_hash("u1", hashed)
        await uow.commit()
    async with uow_factory() as uow:
        assert await uow.users.get_password_hash("u1") == hashed
        assert await uow.users.get_password_hash("u2") is None
        assert await uow.users.get_password_hash("nobody") is None
        # The hash is not part of the user and survives an update of it.
        user = await uow.users.get("u1")
        assert user is not None
        await uow.users.update(User("u1", "Ann B"), expected_version=user.version)
        assert await uow.users.get_password_hash("u1") == hashed


async def test_password_hash_of_missing_user_is_not_found(
    uow_factory: UnitOfWorkFactory,
) -> None:
    async with uow_factory() as uow:
        with pytest.raises(NotFound, match="nobody"):
            await uow.users.set_password_hash("nobody", "h")


async def test_deleting_a_user_deletes_the_password_hash(uow_factory: UnitOfWorkFactory) -> None:
    await seed(uow_factory, users=[User("u1", "Ann")])
    async with uow_factory() as uow:
        await uow.users.set_password_hash("u1", "h")
        await uow.users.delete("u1")
        await uow.users.add(User("u1", "New Ann"))
        assert await uow.users.get_password_hash("u1") is None
