"""Authenticator and its two credential checkers."""

from __future__ import annotations

import time

import pytest
from argon2 import PasswordHasher

from onehub.domain.errors import Unauthenticated
from onehub.domain.models import Principal, User
from onehub.services.auth import Authenticator, DevChecker, PasswordChecker, build_authenticator
from onehub.services.bundle import Services
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory

from .conftest import ADMIN, cheap_hasher


async def test_dev_scheme_accepts_the_id_followed_by_123_without_a_database() -> None:
    auth = Authenticator(DevChecker())
    assert await auth.authenticate("admin", "admin123") == Principal("admin")
    assert await auth.authenticate("zoë", "zoë123") == Principal("zoë")
    wrong = [
        ("admin", "admin"),
        ("admin", "Admin123"),
        ("bob", "admin123"),
        ("a/b", "a/b123"),  # could never be a user id
        ("x" * 129, "x" * 129 + "123"),
    ]
    for username, password in wrong:
        with pytest.raises(Unauthenticated, match="invalid username or password"):
            await auth.authenticate(username, password)


@pytest.mark.parametrize(("username", "password"), [("", "123"), ("admin", ""), ("", "")])
async def test_missing_credentials_are_unauthenticated(username: str, password: str) -> None:
    with pytest.raises(Unauthenticated, match="missing credentials"):
        await Authenticator(DevChecker()).authenticate(username, password)


@pytest.fixture
async def password_auth(
    services: Services, memory_db: InMemoryDatabase
) -> tuple[Authenticator, PasswordChecker]:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    await services.users.create_user(ADMIN, User(id="nopass", name="No password"))
    await services.users.set_password(ADMIN, "alice", "correct horse")
    checker = PasswordChecker(memory_uow_factory(memory_db), cheap_hasher())
    return Authenticator(checker), checker


async def test_password_scheme_checks_the_stored_hash(
    password_auth: tuple[Authenticator, PasswordChecker],
) -> None:
    auth, _ = password_auth
    assert await auth.authenticate("alice", "correct horse") == Principal("alice")
    # Twice: the second answer comes from the verified-credentials cache, and must agree.
    assert await auth.authenticate("alice", "correct horse") == Principal("alice")
    for username, password in [
        ("alice", "wrong horse"),
        ("alice", "alice123"),  # the dev scheme means nothing here
        ("nopass", "nopass123"),
        ("ghost", "correct horse"),
    ]:
        with pytest.raises(Unauthenticated) as caught:
            await auth.authenticate(username, password)
        assert password not in str(caught.value)
        assert username not in str(caught.value)


async def test_a_new_password_replaces_the_old_one_at_once(
    password_auth: tuple[Authenticator, PasswordChecker], services: Services
) -> None:
    auth, _ = password_auth
    await auth.authenticate("alice", "correct horse")  # now cached
    await services.users.set_password(ADMIN, "alice", "battery staple")

    with pytest.raises(Unauthenticated):
        await auth.authenticate("alice", "correct horse")
    assert await auth.authenticate("alice", "battery staple") == Principal("alice")


async def test_unknown_users_cost_a_full_verification(memory_db: InMemoryDatabase) -> None:
    # A hasher slow enough to measure: an early "no such user" answer would take ~0 s.
    slow = PasswordHasher(time_cost=2, memory_cost=8 * 1024, parallelism=1)
    checker = PasswordChecker(memory_uow_factory(memory_db), slow)
    await checker.check("ghost", "warm-up")  # builds the dummy hash once
    started = time.perf_counter()
    assert not await checker.check("ghost", "whatever")
    single_verify = time.perf_counter() - started
    known = slow.hash("x")
    costs = []
    for _ in range(3):  # the fastest of three is the true cost, free of scheduling noise
        reference = time.perf_counter()
        slow.verify(known, "x")
        costs.append(time.perf_counter() - reference)
    assert single_verify > min(costs) / 2


async def test_outdated_hashes_are_upgraded_on_a_successful_login(
    services: Services, memory_db: InMemoryDatabase
) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    await services.users.set_password(ADMIN, "alice", "correct horse")  # cheap parameters
    stronger = PasswordHasher(time_cost=2, memory_cost=16, parallelism=1)
    auth = Authenticator(PasswordChecker(memory_uow_factory(memory_db), stronger))

    assert await auth.authenticate("alice", "correct horse") == Principal("alice")

    async with memory_uow_factory(memory_db)() as uow:
        upgraded = await uow.users.get_password_hash("alice")
    assert upgraded is not None
    assert "t=2" in upgraded
    assert await auth.authenticate("alice", "correct horse") == Principal("alice")


async def test_build_authenticator_knows_two_modes(memory_db: InMemoryDatabase) -> None:
    factory = memory_uow_factory(memory_db)
    dev = build_authenticator("dev", factory)
    assert await dev.authenticate("admin", "admin123") == Principal("admin")
    with pytest.raises(Unauthenticated):
        await build_authenticator("password", factory).authenticate("admin", "admin123")
    with pytest.raises(ValueError, match="unknown auth mode 'ldap'"):
        build_authenticator("ldap", factory)
