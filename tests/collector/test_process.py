"""The collector as its own process (`python -m onehub.collector`, what `onehub collector` and
a parent `onehub serve` run): the ready line, clean stops on SIGINT and SIGTERM, one clear line
for a port in use or a bad config, and `kill -9` during ingest."""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from onehub.collector.cli import READY_PREFIX
from tests.collector.conftest import now_us
from tests.collector.otlp_builders import SpanSpec, new_trace_id, traces_request

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
        [sys.executable, "-m", "onehub.collector", *args],
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


KILL_CONFIG = """
receivers:
  otlp:
    protocols:
      http: {endpoint: 127.0.0.1:0}
processors:
  batch: {send_batch_size: 200, timeout: 50ms}
exporters:
  onehub_store: {}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [batch], exporters: [onehub_store]}
"""
SPANS_PER_TRACE = 5
TRACES_PER_REQUEST = 10
BATCH_SPANS = 200


def _request() -> bytes:
    specs = []
    for _ in range(TRACES_PER_REQUEST):
        trace_id, start = new_trace_id(), now_us()
        root = SpanSpec("crashy", "root", start, 50, trace_id)
        specs.append(root)
        specs.extend(
            SpanSpec("crashy", f"child {i}", start + i, 5, trace_id, parent_id=root.span_id)
            for i in range(SPANS_PER_TRACE - 1)
        )
    return traces_request(specs).SerializeToString()


def test_kill_9_during_ingest_loses_at_most_the_last_batch(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(KILL_CONFIG)
    process = _spawn(
        "--ui-addr", "127.0.0.1:0", "--config", str(config), "--data-dir", str(tmp_path)
    )
    addresses = _ready(process)
    acked = 0
    stop = threading.Event()

    def send_until_refused() -> None:
        nonlocal acked
        with httpx.Client(base_url=f"http://{addresses['otlp_http']}", timeout=5) as client:
            while not stop.is_set():
                try:
                    response = client.post(
                        "/v1/traces",
                        content=_request(),
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                except httpx.HTTPError:
                    return
                if response.status_code == 200:
                    acked += TRACES_PER_REQUEST * SPANS_PER_TRACE

    sender = threading.Thread(target=send_until_refused)
    sender.start()
    try:
        while acked < 20 * BATCH_SPANS:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
        acked_at_kill = acked
    finally:
        stop.set()
        sender.join(10)
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)  # also closes the pipes

    conn = sqlite3.connect(tmp_path / "traces.db")  # opening it recovers the WAL
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    (stored,) = conn.execute("SELECT count(*) FROM spans").fetchone()
    sizes = {size for (size,) in conn.execute("SELECT count(*) FROM spans GROUP BY trace_id")}
    conn.close()
    # Lost: the batch being assembled and the one being committed, nothing older.
    assert stored >= acked_at_kill - 2 * BATCH_SPANS - TRACES_PER_REQUEST * SPANS_PER_TRACE
    assert sizes == {SPANS_PER_TRACE}  # requests are never torn: every stored trace is whole

    # And the collector starts again on the same store.
    restarted = _spawn(
        "--ui-addr", "127.0.0.1:0", "--config", str(config), "--data-dir", str(tmp_path)
    )
    try:
        ui = _ready(restarted)["ui"]
        assert httpx.get(f"{ui}/api/services", timeout=10).json()["data"] == ["crashy"]
    finally:
        restarted.send_signal(signal.SIGTERM)
        restarted.communicate(timeout=20)  # also closes the pipes
    assert restarted.returncode == 0


def test_listening_sockets_say_tcp_so_asyncio_turns_nagle_off() -> None:
    # With proto 0, asyncio leaves Nagle on for accepted connections and every keep-alive
    # response waits ~40 ms for the client's delayed ACK.
    from onehub.collector.servers import listen

    sock = listen("127.0.0.1:0", "test")
    try:
        assert sock.proto == socket.IPPROTO_TCP
    finally:
        sock.close()
