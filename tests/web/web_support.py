"""Helpers for the web front end's tests: `onehub serve` on free ports, credentials, screenshots
(the browser itself comes from tests/browser.py)."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

# Set by conftest.py once a test's body has run: whether it failed.
CALL_FAILED = pytest.StashKey[bool]()


def basic(user: str) -> dict[str, str]:
    """The Authorization header of `user` under dev auth (password: user id + "123")."""
    token = base64.b64encode(f"{user}:{user}123".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def note_csp_violation(text: str, problems: list[str]) -> None:
    if "Content Security Policy" in text:
        problems.append(text)


def screenshot_dir(tmp_path: Path) -> Path:
    """Where screenshots go: $ONEHUB_SCREENSHOTS when set (to look at them), else `tmp_path`."""
    chosen = os.environ.get("ONEHUB_SCREENSHOTS")
    if not chosen:
        return tmp_path
    path = Path(chosen)
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def run_onehub(workdir: Path, start_seconds: float = 40) -> Iterator[str]:
    """`onehub serve` as a person runs it (SQLite under `workdir`, embedded collector and viewer,
    dev credentials), on free loopback ports; yield the gateway's base URL. Stopped with SIGTERM.
    """
    gateway = f"127.0.0.1:{free_port()}"
    args = [
        sys.executable, "-m", "onehub", "serve",
        "--addr", f"127.0.0.1:{free_port()}",
        "--gw-addr", gateway,
        "--otlp-grpc-addr", f"127.0.0.1:{free_port()}",
        "--otlp-http-addr", f"127.0.0.1:{free_port()}",
        "--ui-addr", f"127.0.0.1:{free_port()}",
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
