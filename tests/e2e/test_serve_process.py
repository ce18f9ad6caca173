"""`onehub serve` as a person runs it: a real process, real signals, real ports."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

from .processes import STARTUP_TIMEOUT_S, request_across_signal, start_serve, wait_healthy


@pytest.fixture
def ports() -> tuple[int, int]:
    return free_port(), free_port()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_drains_and_exits_zero(tmp_path: Path, ports: tuple[int, int], signum: int) -> None:
    grpc_port, gw_port = ports
    process = start_serve(
        tmp_path, "--addr", f"127.0.0.1:{grpc_port}", "--gw-addr", f"127.0.0.1:{gw_port}"
    )
    url = f"http://127.0.0.1:{gw_port}"
    try:
        wait_healthy(url, process)
        created = httpx.post(
            f"{url}/api/v1/topics", json={"topic": {"name": "before"}}, auth=("admin", "admin123")
        )
        assert created.status_code == 200
        # A request in flight when the signal arrives: headers and half the body sent, the rest
        # after the signal. Draining means it still completes.
        reply = request_across_signal(process, gw_port, signum)
        assert reply.startswith(b"HTTP/1.1 200"), reply[:200]
        assert b"in flight" in reply
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert "OneHub is running" in out
    assert "shutting down" in err
    assert "Traceback" not in err


def test_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_serve(
            tmp_path, "--addr", f"127.0.0.1:{free_port()}", "--gw-addr", f"127.0.0.1:{port}"
        )
        out, err = process.communicate(timeout=STARTUP_TIMEOUT_S)
    assert process.returncode == 1
    lines = [line for line in err.splitlines() if line.startswith("onehub:")]
    assert len(lines) == 1, err
    assert f"127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in err
    assert "OneHub is running" not in out


def test_grpc_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start_serve(
            tmp_path, "--addr", f"127.0.0.1:{port}", "--gw-addr", f"127.0.0.1:{free_port()}"
        )
        _, err = process.communicate(timeout=STARTUP_TIMEOUT_S)
    assert process.returncode == 1
    assert f"onehub: cannot start the gRPC server on 127.0.0.1:{port}" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("mysql+nosuchdriver://u:hunter2@h/db", "database"),
        ("postgres://postgres:hunter2@127.0.0.1:1/nowhere", "127.0.0.1:1"),
        ("not a url at all", "database"),
    ],
)
def test_bad_database_is_one_clear_line_without_the_password(
    tmp_path: Path, ports: tuple[int, int], url: str, expected: str
) -> None:
    grpc_port, gw_port = ports
    process = start_serve(
        tmp_path,
        "--addr",
        f"127.0.0.1:{grpc_port}",
        "--gw-addr",
        f"127.0.0.1:{gw_port}",
        "--db-endpoint",
        url,
    )
    _, err = process.communicate(timeout=STARTUP_TIMEOUT_S)
    assert process.returncode == 1, err
    lines = [line for line in err.splitlines() if line.startswith("onehub:")]
    assert len(lines) == 1, err
    assert expected in lines[0]
    assert "hunter2" not in err
    assert "Traceback" not in err


def test_dev_auth_refused_on_public_address(tmp_path: Path) -> None:
    process = start_serve(tmp_path, "--addr", "0.0.0.0:0", "--gw-addr", "127.0.0.1:0")
    _, err = process.communicate(timeout=STARTUP_TIMEOUT_S)
    assert process.returncode == 2
    assert "--auth dev" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(("flags", "loop"), [((), "uvloop"), (("--loop", "asyncio"), "asyncio")])
def test_serves_on_the_event_loop_it_names(
    tmp_path: Path, ports: tuple[int, int], flags: tuple[str, ...], loop: str
) -> None:
    grpc_port, gw_port = ports
    process = start_serve(
        tmp_path, "--addr", f"127.0.0.1:{grpc_port}", "--gw-addr", f"127.0.0.1:{gw_port}", *flags
    )
    url = f"http://127.0.0.1:{gw_port}"
    try:
        wait_healthy(url, process)
        created = httpx.post(
            f"{url}/api/v1/topics", json={"topic": {"name": loop}}, auth=("admin", "admin123")
        )
        assert created.status_code == 200, created.text
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    banner = [line for line in out.splitlines() if "event loop" in line]
    assert banner, out
    assert banner[0].split()[2] == loop, out
