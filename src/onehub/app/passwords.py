"""`onehub users set-password`: write a user's password hash straight into the database.

There is no RPC for it (a password must never cross the API), so this is the one command that
opens the database itself rather than calling a server.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from onehub.domain.errors import NotFound, OneHubError
from onehub.domain.models import ADMIN_ID, Principal, User
from onehub.services.users import UserService
from onehub.storage.engine import create_engine, parse_database_url
from onehub.storage.errors import StorageConfigError
from onehub.storage.migrate import migrate
from onehub.storage.uow import sql_uow_factory


def _require_existing_sqlite_file(db_endpoint: str) -> None:
    url = parse_database_url(db_endpoint)
    # A stat of a local file: too quick to be worth a thread.
    if url.get_backend_name() == "sqlite" and not Path(url.database or "").is_file():
        raise StorageConfigError(
            f"no SQLite database at {url.database}: start `onehub serve` once to create it, "
            "or point --db-endpoint at the server's database"
        )


async def set_password(db_endpoint: str, user_id: str, password: str) -> None:
    """Store a salted argon2 hash of `password` for `user_id` in the database at `db_endpoint`.

    Acts with admin rights: whoever can open the database could write the hash anyway. The
    schema is brought up to date first. Raise StorageConfigError for an unusable URL or a SQLite
    file that does not exist (rather than creating an empty database), InvalidArgument for a
    password of the wrong length, NotFound if there is no such user (except `admin`, whose
    record is created on first use: on a fresh database only admin can create users, so this is
    how a `--auth password` deployment gets its first account); errors reaching the database
    propagate from SQLAlchemy.
    """
    _require_existing_sqlite_file(db_endpoint)
    engine = create_engine(db_endpoint)
    try:
        await migrate(engine)
        users = UserService(sql_uow_factory(engine))
        admin = Principal(user_id=ADMIN_ID)
        try:
            await users.set_password(admin, user_id, password)
        except NotFound:
            if user_id != ADMIN_ID:
                raise
            await users.create_user(admin, User(id=ADMIN_ID, name="Administrator"))
            await users.set_password(admin, user_id, password)
    finally:
        await engine.dispose()


def set_password_command(db_endpoint: str, user_id: str, password: str) -> int:
    """Run `set_password` for the CLI: 0 on success, else one error line and status 1 or 2."""
    try:
        asyncio.run(set_password(db_endpoint, user_id, password))
    except StorageConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OneHubError as error:
        print(f"error: {error.code.upper()}: {error.message}", file=sys.stderr)
        return 1
    except (SQLAlchemyError, OSError) as error:
        # Driver messages are long and may quote the URL: name the database without its secrets.
        shown = parse_database_url(db_endpoint).render_as_string(hide_password=True)
        print(
            f"error: cannot update the database at {shown}: {type(error).__name__}",
            file=sys.stderr,
        )
        return 1
    print(f"password set for user {user_id}")
    return 0
