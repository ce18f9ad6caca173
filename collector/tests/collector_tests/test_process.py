"""The collector as its own process (`python -m onehub_collector`, what `onehub collector` and
a parent `onehub serve` run): the ready line, clean stops on SIGINT and SIGTERM, one clear line
for a port in use or a bad config (`kill -9` during ingest: test_durability.py)."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onehub_collector.cli import READY_PREFIX

LOOPBACK = [
    "--otlp-grpc-addr",
    "127.0.0.1:0",
    "--otlp-http-addr",
    "127.0.0.1:0",
    "--ui-addr",
    "127.0.0.1:0",
]


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "onehub_collector", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _ready(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(READY_PREFIX), (line, process.stderr.read() if process.stderr else "")
    return dict(part.split("=", 1) for part in line.removeprefix(READY_PREFIX).split())


@pytest.fixture
def collector_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    process = _spawn(*LOOPBACK, "--data-dir", str(tmp_path))
    try:
        yield process, _ready(process)
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # also closes the pipes


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_ready_line_serves_and_signal_stops_cleanly(
    collector_process: tuple[subprocess.Popen[str], dict[str, str]], signum: int
) -> None:
    process, addresses = collector_process
    assert set(addresses) == {"otlp_grpc", "otlp_http", "ui"}
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/jaeger", addresses["ui"])
    services = httpx.get(addresses["ui"] + "/api/services", timeout=10)
    assert services.json()["data"] == []
    process.send_signal(signum)
    assert process.wait(20) == 0
    assert process.stderr is not None
    assert "Traceback" not in process.stderr.read()


@pytest.mark.parametrize(
    ("flag", "what", "reason"),
    [
        ("--ui-addr", "the trace viewer", "Address already in use"),
        ("--otlp-http-addr", "OTLP/HTTP", "Address already in use"),
        ("--otlp-grpc-addr", "OTLP/gRPC", "Address already in use"),
    ],
)
def test_port_in_use_is_one_clear_line(tmp_path: Path, flag: str, what: str, reason: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = dict(zip(LOOPBACK[::2], LOOPBACK[1::2], strict=True))
        args[flag] = f"127.0.0.1:{port}"
        process = _spawn(
            *[item for pair in args.items() for item in pair], "--data-dir", str(tmp_path)
        )
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 1
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines == [f"onehub collector: cannot listen for {what} on 127.0.0.1:{port}: {reason}"]


def test_bad_config_is_one_clear_line(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {debug: {}}\n")
    process = _spawn(*LOOPBACK, "--config", str(config), "--data-dir", str(tmp_path))
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 2
    assert stderr.strip() == (
        f"onehub collector: {config}: service.pipelines: at least one pipeline is required"
    )


def test_listening_sockets_say_tcp_so_asyncio_turns_nagle_off() -> None:
    # With proto 0, asyncio leaves Nagle on for accepted connections and every keep-alive
    # response waits ~40 ms for the client's delayed ACK.
    from onehub_collector.servers import listen

    sock = listen("127.0.0.1:0", "test")
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
