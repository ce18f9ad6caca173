"""UserStore on SQL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.trace import Tracer
from sqlalchemy import Row, select, update

from onehub.domain.errors import NotFound
from onehub.domain.models import Page, PageRequest, User

from .clock import as_utc, stamp, utc_now
from .keyset import USERS_ORDER
from .sql_paging import fetch_page
from .sql_rows import delete_by_id, insert_new, row_by_id, rows_by_id, update_versioned
from .sql_transaction import SqlTransaction
from .tables import users
from .tracing import db_span
from .validation import check_id, check_json, check_text


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id,
        name=row.name,
        avatar=row.avatar,
        profile_data=row.profile_data,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
    )


def _check(user: User) -> None:
    check_id("user id", user.id)
    check_text("name", user.name)
    check_text("avatar", user.avatar)
    check_json("profile_data", user.profile_data)


def _profile(user: User) -> dict[str, Any] | None:
    return None if user.profile_data is None else dict(user.profile_data)


def _content(user: User) -> dict[str, Any]:
    return {"name": user.name, "avatar": user.avatar, "profile_data": _profile(user)}


class SqlUserStore:
    def __init__(self, tx: SqlTransaction, tracer: Tracer) -> None:
        self._tx = tx
        self._tracer = tracer

    @db_span("db.GetUser")
    async def get(self, user_id: str) -> User | None:
        return await row_by_id(self._tx, users, user_id, _user)

    @db_span("db.GetUsers")
    async def get_many(self, user_ids: Sequence[str]) -> Mapping[str, User]:
        return await rows_by_id(self._tx, users, user_ids, _user)

    @db_span("db.ListUsers")
    async def list(self, page: PageRequest) -> Page[User]:
        return await fetch_page(self._tx, users, USERS_ORDER, page, _user)

    @db_span("db.SaveUser")
    async def add(self, user: User) -> User:
        _check(user)
        created = as_utc(user.created_at) if user.created_at else utc_now()
        values = {**_content(user), "created_at": created, "updated_at": created, "version": 1}
        await insert_new(self._tx, users, "user", {"id": user.id, **values})
        return User(user.id, user.name, user.avatar, _profile(user), created, created, version=1)

    @db_span("db.UpdateUser")
    async def update(self, user: User, expected_version: int) -> User:
        _check(user)
        now = stamp(user.updated_at)
        changes = {**_content(user), "updated_at": now}
        row = await update_versioned(self._tx, users, "user", user.id, expected_version, changes)
        return User(
            user.id, user.name, user.avatar, _profile(user), row.created_at, now, row.version
        )

    @db_span("db.DeleteUser")
    async def delete(self, user_id: str) -> bool:
        return await delete_by_id(self._tx, users, user_id)

    @db_span("db.GetPasswordHash")
    async def get_password_hash(self, user_id: str) -> str | None:
        statement = select(users.c.password_hash).where(users.c.id == user_id)
        result: str | None = (await self._tx.execute(statement)).scalar_one_or_none()
        return result

    @db_span("db.SetPasswordHash")
    async def set_password_hash(self, user_id: str, password_hash: str) -> None:
        check_text("password_hash", password_hash)
        statement = (
            update(users)
            .where(users.c.id == user_id)
            .values(password_hash=password_hash)
            .returning(users.c.id)
        )
        if (await self._tx.execute(statement, write=True)).first() is None:
            raise NotFound(f"user {user_id!r} not found")
