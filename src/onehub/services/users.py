"""User use cases, including setting a user's password for the `password` checker."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Mapping, Sequence

from argon2 import PasswordHasher

from onehub.domain.errors import InvalidArgument, NotFound
from onehub.domain.models import Page, PageRequest, Principal, User
from onehub.services.authz import require_admin, require_owner_or_admin
from onehub.services.base import ServiceBase
from onehub.services.clock import Clock
from onehub.services.content import check_profile_data, readable_user
from onehub.services.faults import FaultSwitchboard
from onehub.services.ids import (
    IdGenerator,
    id_or_new,
    random_id,
    validate_id,
    validate_ids,
    validate_name,
)
from onehub.services.instrumentation import ServiceInstruments, rpc_span
from onehub.services.masks import apply_masks, resolve_masks
from onehub.services.paging import PageKeys
from onehub.services.ports import UnitOfWork, UnitOfWorkFactory

USER_UPDATABLE_FIELDS = frozenset({"name", "avatar", "profile_data"})
MAX_AVATAR_LENGTH = 2048
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _check_user(user: User, fields: frozenset[str] = USER_UPDATABLE_FIELDS) -> User:
    """Check the named fields of `user` (an update checks those it replaces, so a row stored
    before a limit can still have its other fields changed)."""
    if "name" in fields:
        validate_name(user.name, "user name")
    if "avatar" in fields and len(user.avatar) > MAX_AVATAR_LENGTH:
        raise InvalidArgument(f"avatar is longer than {MAX_AVATAR_LENGTH} characters")
    if "profile_data" in fields:
        check_profile_data(user.profile_data)
    return user


async def _existing_user(uow: UnitOfWork, user_id: str) -> User:
    user = await uow.users.get(validate_id(user_id, "user id"))
    if user is None:
        raise NotFound(f"user {user_id!r} not found")
    return user


class UserService(ServiceBase):
    """Manage users. Anyone signed in may read any user; only admin may create users, and a user
    record may be changed or deleted by that user or admin."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        new_id: IdGenerator = random_id,
        clock: Clock | None = None,
        instruments: ServiceInstruments | None = None,
        password_hasher: PasswordHasher | None = None,
        page_keys: PageKeys | None = None,
        faults: FaultSwitchboard | None = None,
    ) -> None:
        super().__init__(
            uow_factory,
            new_id=new_id,
            clock=clock,
            instruments=instruments,
            page_keys=page_keys,
            faults=faults,
        )
        self._hasher = password_hasher or PasswordHasher()

    @rpc_span("CreateUser")
    async def create_user(self, principal: Principal, user: User) -> User:
        """Create `user` (admin only) and return it as stored.

        `user.id` is kept when given, else a random id is assigned; timestamps and version are
        ignored. Raise PermissionDenied for anyone but admin, InvalidArgument for a missing name,
        a malformed id or a field over its limit (name 256 characters, avatar 2048, profile_data
        32 KiB and 30 levels deep), AlreadyExists when the id is taken.
        """
        require_admin(principal, "create users")
        now = self._clock()
        draft = dataclasses.replace(
            _check_user(user),
            id=id_or_new(user.id, "user id", self._new_id),
            created_at=now,
            updated_at=now,
            version=0,
        )
        async with self._uow_factory() as uow:
            created = await uow.users.add(draft)
            await uow.commit()
        self._instruments.users_created.add(1)
        return created

    @rpc_span("ListUsers")
    async def list_users(self, principal: Principal, page: PageRequest) -> Page[User]:
        """Return one page of users ordered by id. InvalidArgument for a bad page request."""
        request = self._page_keys.open(page)
        async with self._uow_factory() as uow:
            found = await uow.users.list(request)
        readable = dataclasses.replace(
            found, items=[readable_user(u, self._report_cut) for u in found.items]
        )
        return self._page_keys.seal(readable)

    @rpc_span("GetUser")
    async def get_user(self, principal: Principal, user_id: str) -> User:
        """Return the user; NotFound if there is none with that id."""
        async with self._uow_factory() as uow:
            return readable_user(await _existing_user(uow, user_id), self._report_cut)

    @rpc_span("GetUsers")
    async def get_users(self, principal: Principal, user_ids: Sequence[str]) -> Mapping[str, User]:
        """Return the users that exist among `user_ids` (at most 1000), keyed by id."""
        ids = validate_ids(user_ids, "user id")
        if not ids:
            return {}
        async with self._uow_factory() as uow:
            found = await uow.users.get_many(ids)
        return {user_id: readable_user(user, self._report_cut) for user_id, user in found.items()}

    @rpc_span("DeleteUser")
    async def delete_user(self, principal: Principal, user_id: str) -> None:
        """Delete the user. NotFound if it does not exist, PermissionDenied unless the caller
        is that user or admin."""
        async with self._uow_factory() as uow:
            user = await _existing_user(uow, user_id)
            require_owner_or_admin(principal, user.id, "delete a user")
            if not await uow.users.delete(user.id):
                raise NotFound(f"user {user_id!r} not found")
            await uow.commit()

    @rpc_span("UpdateUser")
    async def update_user(
        self, principal: Principal, user: User, update_mask: Sequence[str]
    ) -> User:
        """Replace the fields of user `user.id` named by `update_mask` ("name", "avatar",
        "profile_data"; "*" for all) and return it as stored.

        Raise PermissionDenied unless the caller is that user or admin (checked first),
        InvalidArgument for an empty mask, an unknown path or a replaced field that is bad or
        over its limit (see create_user; fields the update does not replace are not judged),
        NotFound if the user does not exist, Aborted if someone else updated it meanwhile.
        """
        # Who may change this user depends on the id alone: a caller who may not is told so
        # before anything about the request's fields (or the user's existence) is judged.
        require_owner_or_admin(principal, validate_id(user.id, "user id"), "update a user")
        replaced, _ = resolve_masks("user", update_mask, updatable=USER_UPDATABLE_FIELDS)
        if not replaced:
            raise InvalidArgument("update_mask must name a field to change")
        _check_user(user, replaced)  # the replaced fields are the request's own
        async with self._uow_factory() as uow:
            stored = await _existing_user(uow, user.id)
            changed = apply_masks(stored, user, replaced, ())
            changed = dataclasses.replace(changed, updated_at=self._clock())
            updated = await uow.users.update(changed, expected_version=stored.version)
            await uow.commit()
        return readable_user(updated, self._report_cut)

    @rpc_span("SetPassword")
    async def set_password(self, principal: Principal, user_id: str, password: str) -> None:
        """Store a salted argon2 hash of `password` for the `password` credential checker.

        Raise InvalidArgument for a password shorter than 8 or longer than 1024 characters (the
        message never contains it), NotFound if the user does not exist, PermissionDenied unless
        the caller is that user or admin.
        """
        if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
            raise InvalidArgument(
                f"a password needs {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters"
            )
        validate_id(user_id, "user id")
        require_owner_or_admin(principal, user_id, "set a user's password")
        # argon2 is deliberately slow: keep it off the event loop.
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._uow_factory() as uow:
            await _existing_user(uow, user_id)
            await uow.users.set_password_hash(user_id, password_hash)
            await uow.commit()
