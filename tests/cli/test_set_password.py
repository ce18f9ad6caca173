"""`onehub users set-password`, then signing in with the `password` credential checker."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from onehub.cli.main import main
from onehub.domain.models import Principal, User
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.engine import create_engine
from onehub.storage.migrate import migrate
from onehub.storage.uow import sql_uow_factory

from .conftest import Result, RunningServer, serve_in_thread

NEW_PASSWORD = "correct horse battery"


@pytest.fixture
def db_url(database_url: str) -> str:
    """An empty database, SQLite and PostgreSQL in turn (the shared `database_url` fixture)."""
    return database_url


@pytest.fixture
def password_server(db_url: str) -> Iterator[RunningServer]:
    """A server with `--auth password` on an empty SQL database, holding the user alice."""

    async def sqlite_storage() -> tuple[UnitOfWorkFactory, Callable[[], Awaitable[None]]]:
        engine = create_engine(db_url)
        await migrate(engine)
        return sql_uow_factory(engine), engine.dispose

    for running in serve_in_thread(sqlite_storage, "password"):
        running.run(running.services.users.create_user(Principal("admin"), User("alice", "Alice")))
        yield running


def run(capsys: pytest.CaptureFixture[str], *args: str) -> Result:
    capsys.readouterr()
    status = main(list(args))
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


def as_alice(
    capsys: pytest.CaptureFixture[str], server: RunningServer, password: str, *args: str
) -> Result:
    return run(capsys, "--server", server.address, "--user", "alice", "--password", password, *args)


def set_password(capsys: pytest.CaptureFixture[str], db_url: str, *args: str) -> Result:
    return run(capsys, "users", "set-password", *args, "--db-endpoint", db_url)


def set_password_from_stdin(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    db_url: str,
    user: str,
    typed: str = NEW_PASSWORD,
) -> Result:
    """`onehub users set-password USER --password-stdin` with `typed` and a newline on stdin."""
    monkeypatch.setattr("sys.stdin", io.StringIO(typed + "\n"))
    return set_password(capsys, db_url, user, "--password-stdin")


def test_set_password_from_stdin_then_sign_in_with_it(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password_server: RunningServer,
    db_url: str,
) -> None:
    before = as_alice(capsys, password_server, NEW_PASSWORD, "users", "get", "alice")
    assert before.err.strip() == "error: UNAUTHENTICATED: invalid username or password"

    result = set_password_from_stdin(capsys, monkeypatch, db_url, "alice")

    assert result.status == 0, result.err
    assert result.out.strip() == "password set for user alice"
    assert NEW_PASSWORD not in result.out + result.err

    after = as_alice(capsys, password_server, NEW_PASSWORD, "users", "get", "alice")
    assert after.status == 0, after.err
    assert "name:    Alice" in after.out
    # The dev scheme's password means nothing to the password checker.
    assert as_alice(capsys, password_server, "alice123", "users", "get", "alice").status == 1


def test_the_prompt_asks_twice_and_the_environment_names_the_database(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password_server: RunningServer,
    db_url: str,
) -> None:
    answers = iter([NEW_PASSWORD, NEW_PASSWORD])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    monkeypatch.setenv("ONEHUB_DB_ENDPOINT", db_url)

    assert run(capsys, "users", "set-password", "alice").status == 0

    signed_in = as_alice(capsys, password_server, NEW_PASSWORD, "topics", "list")
    assert signed_in.status == 0, signed_in.err


def test_two_different_entries_change_nothing(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    answers = iter([NEW_PASSWORD, NEW_PASSWORD + "!"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))

    result = set_password(capsys, f"sqlite:///{tmp_path / 'never-opened.db'}", "alice")

    assert result.status == 2
    assert result.err.strip() == "error: the two passwords differ; nothing changed"


def test_unknown_user_and_short_password_are_refused(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password_server: RunningServer,
    db_url: str,
) -> None:
    missing = set_password_from_stdin(capsys, monkeypatch, db_url, "nobody")
    assert (missing.status, missing.err.strip()) == (1, "error: NOT_FOUND: user 'nobody' not found")

    short = set_password_from_stdin(capsys, monkeypatch, db_url, "alice", typed="short")
    assert short.status == 1
    assert short.err.startswith("error: INVALID_ARGUMENT: a password needs 8")
    assert "short" not in short.err.removeprefix("error: INVALID_ARGUMENT: ")


def test_a_missing_sqlite_file_is_not_created(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "elsewhere" / "nothing.db"

    result = set_password_from_stdin(capsys, monkeypatch, f"sqlite:///{path}", "alice")

    assert result.status == 2
    assert result.err.startswith(f"error: no SQLite database at {path}")
    assert not path.exists()


def test_a_bad_database_url_is_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = set_password_from_stdin(capsys, monkeypatch, "mysql://x@h/db", "alice")

    assert result.status == 2
    assert result.err.strip() == (
        "error: unsupported database 'mysql': use sqlite:///path/to.db or postgresql://..."
    )


def test_the_first_admin_password_creates_the_admin_record(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    password_server: RunningServer,
    db_url: str,
) -> None:
    # A fresh `--auth password` deployment has no admin record; setting its password makes one.
    result = set_password_from_stdin(capsys, monkeypatch, db_url, "admin")
    assert result.status == 0, result.err

    admin = run(
        capsys, "--server", password_server.address, "--user", "admin", "--password", NEW_PASSWORD,
        "users", "create", "bob", "--name", "Bob",
    )  # fmt: skip
    assert admin.status == 0, admin.err
