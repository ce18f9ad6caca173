"""Every command answers --help with a usage, and the families show examples."""

from __future__ import annotations

import pytest

from onehub.cli.main import main

LEAVES = [
    ["serve"],
    ["loadgen"],
    *[["topics", action] for action in ("list", "create", "get", "delete", "update")],
    *[["msgs", action] for action in ("send", "list", "search", "get", "delete")],
    *[["users", action] for action in ("create", "list", "get", "delete", "set-password")],
]


@pytest.mark.parametrize("command", [[], ["topics"], ["msgs"], ["users"], *LEAVES], ids=" ".join)
def test_help_prints_usage_and_examples(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == 0

    out = capsys.readouterr().out
    assert out.startswith(f"usage: onehub {' '.join(command)}".rstrip())
    assert "examples:\n  onehub " in out


def test_top_level_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--help"])
    out = capsys.readouterr().out
    for command in ("serve", "collector", "topics", "msgs", "users", "loadgen"):
        assert f"\n    {command} " in out


def test_help_names_the_environment_twins(capsys: pytest.CaptureFixture[str]) -> None:
    main(["topics", "list", "--help"])
    out = capsys.readouterr().out
    for twin in ("ONEHUB_SERVER", "ONEHUB_USER", "ONEHUB_PASSWORD"):
        assert twin in out


def test_collector_takes_every_argument_after_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["collector", "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: onehub collector")
    assert "--otlp-grpc-addr" in out

    assert main(["collector", "--no-such-flag"]) == 2
    assert "unrecognized arguments: --no-such-flag" in capsys.readouterr().err
