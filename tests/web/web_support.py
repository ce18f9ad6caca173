"""Helpers for the web front end's tests: Debian's Chromium, and `onehub serve` on free ports."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.debian_packages import require_program

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set by conftest.py once a test's body has run: whether it failed.
CALL_FAILED = pytest.StashKey[bool]()


def require_chromium() -> Path:
    """Return Debian's Chromium; the test fails if the machine lacks it."""
    return require_program("chromium")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_onehub(workdir: Path, start_seconds: float = 40) -> Iterator[str]:
    """`onehub serve` as a person runs it (SQLite under `workdir`, embedded collector and viewer,
    dev credentials), on free loopback ports; yield the gateway's base URL. Stopped with SIGTERM.
    """
    gateway = f"127.0.0.1:{_free_port()}"
    args = [
        sys.executable, "-m", "onehub", "serve",
        "--addr", f"127.0.0.1:{_free_port()}",
        "--gw-addr", gateway,
        "--otlp-grpc-addr", f"127.0.0.1:{_free_port()}",
        "--otlp-http-addr", f"127.0.0.1:{_free_port()}",
        "--ui-addr", f"127.0.0.1:{_free_port()}",
        "--auth", "dev",
        "--db-endpoint", f"sqlite:///{workdir / 'onehub.db'}",
    ]  # fmt: skip
    log = workdir / "onehub.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            args, cwd=workdir, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    try:
        deadline = time.monotonic() + start_seconds
        while True:
            assert process.poll() is None, f"onehub serve exited:\n{log.read_text()[-3000:]}"
            try:
                if httpx.get(f"http://{gateway}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"onehub serve not up:\n{log.read_text()[-3000:]}"
            time.sleep(0.2)
        yield f"http://{gateway}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
