"""Every start-up mistake of `onehub serve` is one line on stderr, `onehub: ` and the culprit,
and a non-zero exit (2 for settings, 1 for what cannot start): never a traceback, never a
gRPC C-core log line, never "OneHub is running"."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.ports import free_port

from .processes import STARTUP_TIMEOUT_S

ROLES = ("--addr", "--gw-addr", "--otlp-grpc-addr", "--otlp-http-addr", "--ui-addr")


@dataclass(frozen=True)
class Case:
    # After free addresses for every server (the last of a repeated flag wins); {taken} is a
    # port something else listens on, {free} one nobody does.
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    status: int = 1
    culprit: str = ""  # a part of the line naming what is wrong
    read_only_cwd: bool = False


CASES = {
    "sampler": Case(env={"OTEL_TRACES_SAMPLER": "bogus"}, status=2, culprit="OTEL_TRACES_SAMPLER"),
    "log level": Case(args=("--log-level", "LOUD"), status=2, culprit="--log-level"),
    "collector yaml": Case(
        args=("--collector-config", "bad.yaml"), status=2, culprit="bad.yaml: not valid YAML"
    ),
    "read-only data dir": Case(
        read_only_cwd=True, culprit=".data/collector: Read-only file system"
    ),
    "read-only data dir, no collector": Case(
        args=("--collector", "none"), read_only_cwd=True, culprit="Read-only file system"
    ),
    "gRPC port": Case(
        args=("--addr", "127.0.0.1:{taken}"), culprit="gRPC server on 127.0.0.1:{taken}"
    ),
    "gateway port": Case(
        args=("--gw-addr", "127.0.0.1:{taken}"), culprit="REST gateway on 127.0.0.1:{taken}"
    ),
    "OTLP gRPC port": Case(
        args=("--otlp-grpc-addr", "127.0.0.1:{taken}"), culprit="OTLP/gRPC on 127.0.0.1:{taken}"
    ),
    "OTLP HTTP port": Case(
        args=("--otlp-http-addr", "127.0.0.1:{taken}"), culprit="OTLP/HTTP on 127.0.0.1:{taken}"
    ),
    "UI port": Case(
        args=("--ui-addr", "127.0.0.1:{taken}"), culprit="trace viewer on 127.0.0.1:{taken}"
    ),
    "gRPC and gateway on one port": Case(
        args=("--addr", "127.0.0.1:{free}", "--gw-addr", "127.0.0.1:{free}"),
        culprit="gRPC server on 127.0.0.1:{free}",
    ),
    "database unreachable": Case(
        args=("--db-endpoint", "postgres://postgres:hunter2@127.0.0.1:1/nowhere"),
        culprit="cannot open the database postgresql+asyncpg://postgres:***@127.0.0.1:1/nowhere",
    ),
    "database url": Case(
        args=("--db-endpoint", "mysql://u@h/db"), culprit="unsupported database 'mysql'"
    ),
}


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield int(taken.getsockname()[1])


def _serve_argv(case: Case, ports: dict[str, int]) -> list[str]:
    addresses = [item for flag in ROLES for item in (flag, f"127.0.0.1:{free_port()}")]
    args = [arg.format(**ports) for arg in case.args]
    return [sys.executable, "-m", "onehub", "serve", *addresses, *args]


def _read_only(cwd: Path, argv: list[str]) -> list[str]:
    """`argv` run in `cwd` made a read-only tmpfs, in a mount namespace of its own."""
    script = 'mount -t tmpfs -o ro tmpfs "$0" && cd "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, str(cwd), *argv]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_start_up_mistake_is_one_line_and_a_non_zero_exit(
    tmp_path: Path, taken_port: int, case: Case
) -> None:
    (tmp_path / "bad.yaml").write_text("receivers: [\n")
    ports = {"taken": taken_port, "free": free_port()}
    argv = _serve_argv(case, ports)
    cwd = tmp_path
    if case.read_only_cwd:
        cwd = tmp_path / "read-only"
        cwd.mkdir()
        argv = _read_only(cwd, argv)
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    result = subprocess.run(
        argv,
        cwd=tmp_path,
        env={**env, **case.env},
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
    )

    assert result.returncode == case.status, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("onehub: "), result.stderr
    assert case.culprit.format(**ports) in lines[0]
    assert "hunter2" not in result.stderr
    assert "OneHub is running" not in result.stdout


def test_a_wrong_serve_flag_shows_the_usage_of_serve(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "onehub", "serve", "--colector", "none"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=STARTUP_TIMEOUT_S,
        check=False,
    )

    assert result.returncode == 2
    assert result.stderr.startswith("usage: onehub serve ")
    assert "--otlp-grpc-addr" in result.stderr  # serve's flags, not the top level's
    assert result.stderr.splitlines()[-1] == (
        "onehub serve: error: unrecognized arguments: --colector none"
    )
