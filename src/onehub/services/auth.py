"""Authentication: credentials (username, password) in, a `Principal` out.

Two credential checkers, chosen by the `--auth` setting:
- `dev` (`DevChecker`): the original OneHub's scheme, password = user id + "123"
  (`admin:admin123`). Like the original it does not consult the database, so `admin` can always
  log in and a fresh, empty database is usable at once (the original's load script creates every
  user while signed in as `admin`). For local use only: the composition root refuses it on a
  non-loopback bind unless forced.
- `password` (`PasswordChecker`): salted argon2 hashes stored through
  `UserStore.get_password_hash`, set with `UserService.set_password`. Unknown users and users
  without a password cost the same argon2 verification as a wrong password, so timing does not
  reveal which user ids exist.

Credentials never appear in an exception message, a log record or a span attribute.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections import OrderedDict
from typing import Final, Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from onehub.domain.errors import InvalidArgument, ResourceExhausted, Unauthenticated
from onehub.domain.models import Principal
from onehub.services.ids import validate_id
from onehub.services.login_throttle import LoginThrottle, whole_seconds
from onehub.services.ports import UnitOfWorkFactory
from onehub.services.users import MAX_PASSWORD_LENGTH

AUTH_MODES: Final = ("dev", "password")
DEV_PASSWORD_SUFFIX: Final = "123"


class CredentialChecker(Protocol):
    """Judges a username and password. An extension point: add a class, not a branch."""

    async def check(self, username: str, password: str) -> bool:
        """Return whether `password` is right for `username`; never raise for a wrong one."""
        ...


class DevChecker:
    """The original's development scheme: the password is the user id followed by "123"."""

    async def check(self, username: str, password: str) -> bool:
        expected = (username + DEV_PASSWORD_SUFFIX).encode()
        return hmac.compare_digest(expected, password.encode())


class PasswordChecker:
    """Verifies passwords against the argon2 hashes stored in the database.

    A successful verification is remembered (keyed by user and stored hash, holding only an
    HMAC of the password under a per-process random key), so a client sending the same
    credentials on every call pays for argon2 once rather than on every request; a changed
    password changes the stored hash and so misses the cache.
    """

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        hasher: PasswordHasher | None = None,
        cache_size: int = 1024,
    ) -> None:
        self._uow_factory = uow_factory
        self._hasher = hasher or PasswordHasher()
        self._cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._cache_key = secrets.token_bytes(32)
        self._dummy_hash: str | None = None

    def _mac(self, password: str) -> bytes:
        return hmac.new(self._cache_key, password.encode(), hashlib.sha256).digest()

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def _verify_unknown_user(self, password: str) -> bool:
        # Spend what a real verification costs, then fail: no timing oracle for user ids.
        if self._dummy_hash is None:
            self._dummy_hash = await asyncio.to_thread(self._hasher.hash, secrets.token_hex(16))
        await asyncio.to_thread(self._verify, self._dummy_hash, password)
        return False

    async def check(self, username: str, password: str) -> bool:
        async with self._uow_factory() as uow:
            stored_hash = await uow.users.get_password_hash(username)
        if stored_hash is None:
            return await self._verify_unknown_user(password)
        key = (username, stored_hash)
        remembered = self._cache.get(key)
        if remembered is not None and hmac.compare_digest(remembered, self._mac(password)):
            self._cache.move_to_end(key)
            return True
        if not await asyncio.to_thread(self._verify, stored_hash, password):
            return False
        self._cache[key] = self._mac(password)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        if self._hasher.check_needs_rehash(stored_hash):
            await self._rehash(username, password)
        return True

    async def _rehash(self, username: str, password: str) -> None:
        """Upgrade a hash made with older parameters, now that the password is known good."""
        new_hash = await asyncio.to_thread(self._hasher.hash, password)
        async with self._uow_factory() as uow:
            await uow.users.set_password_hash(username, new_hash)
            await uow.commit()


class Authenticator:
    """Turns credentials into the `Principal` every service method takes, throttling password
    guessing when given a `LoginThrottle`."""

    def __init__(self, checker: CredentialChecker, throttle: LoginThrottle | None = None) -> None:
        self._checker = checker
        self._throttle = throttle

    async def authenticate(self, username: str, password: str, client: str = "") -> Principal:
        """Return the principal for valid credentials sent from the address `client` ("" when
        unknown).

        Raise Unauthenticated when either is empty, the username could not be a user id (see
        `validate_id`), or the checker rejects them; the message never repeats the username or
        the password. With a throttle, raise ResourceExhausted (with `retry_after_s`), before
        checking anything, while this user or address must wait after too many failures.
        """
        if not username or not password:
            raise Unauthenticated("missing credentials: send a username and a password")
        try:
            validate_id(username, "username")
            user: str | None = username
        except InvalidArgument:
            user = None  # no user can have such an id: counted against the address alone
        throttle = self._throttle
        if throttle is not None:
            wait = throttle.retry_after(user, client)
            if wait is not None:
                raise ResourceExhausted(
                    f"too many failed sign-ins: try again in {whole_seconds(wait)} s",
                    retry_after_s=wait,
                )
        if (
            user is None
            or len(password) > MAX_PASSWORD_LENGTH
            or not await self._checker.check(username, password)
        ):
            if throttle is not None:
                throttle.failed(user, client)
            # Say no more for an impossible user id than for any other wrong credential.
            raise Unauthenticated("invalid username or password")
        if throttle is not None:
            throttle.succeeded(username, client)
        return Principal(user_id=username)


def build_authenticator(
    mode: str, uow_factory: UnitOfWorkFactory, hasher: PasswordHasher | None = None
) -> Authenticator:
    """Return the authenticator for `mode` ("dev" or "password"); ValueError for any other.

    Password mode throttles failed sign-ins (see `login_throttle`); dev mode does not, its
    passwords being public by design.
    """
    if mode == "dev":
        return Authenticator(DevChecker())
    if mode == "password":
        return Authenticator(PasswordChecker(uow_factory, hasher), LoginThrottle())
    raise ValueError(f"unknown auth mode {mode!r}: expected one of {', '.join(AUTH_MODES)}")
