"""Error lines, exit statuses, credentials and the global flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from onehub.cli.main import main
from tests.ports import free_port

from .conftest import Cli


def test_wrong_password_is_unauthenticated_and_never_printed(cli: Cli) -> None:
    result = cli("--password", "hunter2-secret", "topics", "list")

    assert result.status == 1
    assert result.err.strip() == "error: UNAUTHENTICATED: invalid username or password"
    assert "hunter2-secret" not in result.out + result.err


def test_credentials_come_from_the_environment(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONEHUB_USER", "alice")
    monkeypatch.setenv("ONEHUB_PASSWORD", "alice123")

    created = cli("topics", "create", "Alice's", "--id", "t1")

    assert created.status == 0, created.err
    assert "creator: alice" in created.out


def test_flags_may_follow_the_subcommand_and_win_over_the_environment(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEHUB_PASSWORD", "wrong-one")

    created = cli("topics", "create", "Mine", "--user", "bob", "--password", "bob123")

    assert created.status == 0, created.err
    assert "creator: bob" in created.out


def test_server_from_the_environment(
    capsys: pytest.CaptureFixture[str], cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONEHUB_SERVER", cli.address)

    assert main(["topics", "list"]) == 0
    assert capsys.readouterr().out.strip() == "(none)"


def test_a_server_that_is_down_gets_one_line_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    address = f"127.0.0.1:{free_port()}"

    status = main(["--server", address, "--password", "s3cret-pw", "topics", "list"])

    captured = capsys.readouterr()
    assert status == 1
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith(f"error: UNAVAILABLE: cannot reach the OneHub server at {address}")
    assert "connection refused" in line
    assert "s3cret-pw" not in captured.err


def test_a_bad_timeout_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--timeout", "0", "topics", "list"]) == 2
    assert (
        capsys.readouterr().err.strip() == "error: --timeout must be a positive number of seconds"
    )


@pytest.mark.parametrize("server", ["nonsense", "http://127.0.0.1:9000", "127.0.0.1:99999"])
def test_a_malformed_server_address_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], server: str
) -> None:
    assert main(["--server", server, "topics", "list"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: --server: {server!r} is not host:port")


def test_unknown_commands_and_missing_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert main(["topics", "get"]) == 2
    assert "the following arguments are required: id" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from onehub import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"onehub {__version__}"


def test_the_installed_command_runs_in_a_fresh_process() -> None:
    from onehub import __version__

    result = subprocess.run(
        [sys.executable, "-m", "onehub", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, f"onehub {__version__}")
