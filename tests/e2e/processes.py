"""Helpers to run `onehub serve` as a real process on free loopback ports."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.ports import free_port

STARTUP_TIMEOUT_S = 30


def start_serve(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`onehub serve --collector none ARGS` in `cwd`, telemetry off unless `env` says otherwise."""
    return subprocess.Popen(
        [sys.executable, "-m", "onehub", "serve", "--collector", "none", *args],
        cwd=cwd,
        env={**os.environ, "OTEL_SDK_DISABLED": "true", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_healthy(url: str, process: subprocess.Popen[str]) -> None:
    """Return once `url`/healthz answers 200; fail with the process's output if it died."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            raise AssertionError(f"onehub serve exited {process.returncode}:\n{out}\n{err}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("onehub serve did not become healthy")


def stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    """Stop gracefully (SIGTERM), kill if it hangs; return its output."""
    if process.poll() is None:
        process.terminate()
    try:
        return process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()


@contextlib.contextmanager
def running_serve(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, str]]:
    """`onehub serve ARGS` on free loopback ports, healthy; yields (gateway URL, gRPC target)
    and stops it afterwards."""
    grpc_port, gw_port = free_port(), free_port()
    process = start_serve(
        cwd, "--addr", f"127.0.0.1:{grpc_port}", "--gw-addr", f"127.0.0.1:{gw_port}", *args, env=env
    )
    url = f"http://127.0.0.1:{gw_port}"
    try:
        wait_healthy(url, process)
        yield url, f"127.0.0.1:{grpc_port}"
    finally:
        stop(process)


def request_across_signal(process: subprocess.Popen[str], gw_port: int, signum: int) -> bytes:
    """Send half of a topic-creating request to the gateway at `gw_port`, send `signum` to
    `process`, then send the rest; return the whole reply (a draining server answers it)."""
    body = b'{"topic": {"name": "in flight"}}'
    with socket.create_connection(("127.0.0.1", gw_port)) as conn:
        conn.sendall(
            b"POST /v1/topics HTTP/1.1\r\nHost: localhost\r\n"
            b"Authorization: Basic YWRtaW46YWRtaW4xMjM=\r\n"
            b"Content-Type: application/json\r\nConnection: close\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body[:10]
        )
        time.sleep(0.3)
        process.send_signal(signum)
        time.sleep(0.3)
        conn.sendall(body[10:])
        reply = b""
        while chunk := conn.recv(65536):
            reply += chunk
    return reply
