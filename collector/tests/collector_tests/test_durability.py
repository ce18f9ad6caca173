"""What a 200 promises, tested on real collector processes: acknowledged spans survive
`kill -9`, and a store that cannot write (a full disk) refuses with the retryable OTLP signals
instead of acknowledging what it then loses, while queries go on answering."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from collector_tests.conftest import now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector.cli import READY_PREFIX

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = {"Content-Type": "application/x-protobuf"}
LOOPBACK = ["--otlp-grpc-addr", "127.0.0.1:0", "--otlp-http-addr", "127.0.0.1:0"]
LOOPBACK += ["--ui-addr", "127.0.0.1:0"]


def _ready(process: subprocess.Popen[str]) -> dict[str, str]:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith(READY_PREFIX), (line, process.stderr.read() if process.stderr else "")
    return dict(part.split("=", 1) for part in line.removeprefix(READY_PREFIX).split())


def _collector(command: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _reap(process: subprocess.Popen[str]) -> None:
    """Kill `process` if it still runs, wait for it and close its pipes."""
    if process.poll() is None:
        process.kill()
    process.wait(10)
    for pipe in (process.stdout, process.stderr):
        if pipe is not None:
            pipe.close()


def _request(
    service: str, traces: int, spans_per_trace: int, pad: int = 0
) -> tuple[bytes, list[bytes]]:
    """An encoded request of whole traces, and their ids."""
    specs: list[SpanSpec] = []
    trace_ids = []
    for _ in range(traces):
        trace_id, start = new_trace_id(), now_us()
        trace_ids.append(trace_id)
        root = SpanSpec(service, "root", start, 50, trace_id, attributes={"pad": "x" * pad})
        specs.append(root)
        specs.extend(
            SpanSpec(
                service,
                f"child {i}",
                start + i,
                5,
                trace_id,
                parent_id=root.span_id,
                attributes={"pad": "x" * pad},
            )
            for i in range(spans_per_trace - 1)
        )
    return traces_request(specs).SerializeToString(), trace_ids


Send = Callable[[bytes], bool]  # True: acknowledged; False: refused; raises when unreachable


def _http_sender(address: str) -> tuple[Send, Callable[[], None]]:
    client = httpx.Client(base_url=f"http://{address}", timeout=10)

    def send(body: bytes) -> bool:
        return client.post("/v1/traces", content=body, headers=PROTOBUF).status_code == 200

    return send, client.close


def _grpc_sender(address: str) -> tuple[Send, Callable[[], None]]:
    channel = grpc.insecure_channel(address)
    export: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(TRACE_EXPORT)

    def send(body: bytes) -> bool:
        try:
            export(body, timeout=10)
        except grpc.RpcError:
            return False  # refused, or the collector is gone: not acknowledged either way
        return True

    return send, channel.close


SPANS_PER_TRACE = 10
TRACES_PER_REQUEST = 5


def test_kill_9_loses_no_acknowledged_span(tmp_path: Path) -> None:
    """Senders over OTLP/HTTP and OTLP/gRPC at full speed; kill -9 mid-ingest; every span of
    every acknowledged request is in the store afterwards."""
    command = [sys.executable, "-m", "onehub_collector", *LOOPBACK, "--data-dir", str(tmp_path)]
    process = _collector(command)
    addresses = _ready(process)
    acknowledged: list[bytes] = []  # trace ids; list.extend is atomic under the GIL
    stop = threading.Event()

    def run(make: Callable[[str], tuple[Send, Callable[[], None]]], address: str) -> None:
        send, close = make(address)
        try:
            while not stop.is_set():
                body, trace_ids = _request("crashy", TRACES_PER_REQUEST, SPANS_PER_TRACE)
                try:
                    if send(body):
                        acknowledged.extend(trace_ids)
                except httpx.HTTPError:
                    return  # the collector is gone
        finally:
            close()

    senders = [
        threading.Thread(target=run, args=(make, addresses[key]))
        for make, key in [(_http_sender, "otlp_http"), (_grpc_sender, "otlp_grpc")] * 2
    ]
    for sender in senders:
        sender.start()
    try:
        deadline = time.monotonic() + 60
        # Mid-ingest: well past the first batch processor timeout, senders still going.
        while len(acknowledged) * SPANS_PER_TRACE < 6_000 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(10) == -signal.SIGKILL
        acked = list(acknowledged)  # nothing is acknowledged by a dead process
    finally:
        stop.set()
        for sender in senders:
            sender.join(20)
        _reap(process)
    assert len(acked) * SPANS_PER_TRACE >= 6_000

    # The collector starts again on the same store and serves what was acknowledged.
    restarted = _collector(command)
    try:
        ui = _ready(restarted)["ui"]
        assert httpx.get(f"{ui}/api/services", timeout=10).json()["data"] == ["crashy"]
        sample = httpx.get(f"{ui}/api/traces/{acked[-1].hex()}", timeout=10).json()["data"]
        assert len(sample[0]["spans"]) == SPANS_PER_TRACE
    finally:
        restarted.send_signal(signal.SIGTERM)
        code = restarted.wait(20)
        _reap(restarted)
    assert code == 0
    conn = sqlite3.connect(tmp_path / "traces.db")
    try:
        stored = dict(conn.execute("SELECT trace_id, count(*) FROM spans GROUP BY trace_id"))
    finally:
        conn.close()
    missing = sum(SPANS_PER_TRACE - stored.get(trace_id, 0) for trace_id in acked)
    assert missing == 0, f"{missing} of {len(acked) * SPANS_PER_TRACE} acknowledged spans lost"
    # Requests are never torn: every stored trace is whole, acknowledged or not.
    assert set(stored.values()) == {SPANS_PER_TRACE}


def _small_disk_command(mount: Path) -> list[str]:
    """The collector with its data directory on a 5 MB tmpfs, mounted in a mount namespace of
    its own (so nothing outside sees it, and it goes away with the process)."""
    script = 'mount -t tmpfs -o size=5m tmpfs "$1" && shift && exec "$@"'
    return [
        "unshare",
        "-m",
        "sh",
        "-c",
        script,
        "sh",
        str(mount),
        sys.executable,
        "-m",
        "onehub_collector",
        *LOOPBACK,
        "--data-dir",
        str(mount),
    ]


@pytest.fixture
def small_disk_collector(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    assert shutil.which("unshare"), "util-linux unshare is needed (and root, for the mount)"
    mount = tmp_path / "small"
    mount.mkdir()
    process = _collector(_small_disk_command(mount))
    try:
        yield process, _ready(process)
    finally:
        _reap(process)


def test_full_disk_refuses_retryably_keeps_what_it_acknowledged_and_serves_queries(
    small_disk_collector: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, addresses = small_disk_collector
    http = httpx.Client(base_url=f"http://{addresses['otlp_http']}", timeout=30)
    channel = grpc.insecure_channel(addresses["otlp_grpc"])
    export: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(TRACE_EXPORT)
    acknowledged: list[bytes] = []
    http_refusals: list[httpx.Response] = []
    grpc_refusals: list[grpc.StatusCode] = []
    try:
        # 200-span requests until the disk is full and both protocols were refused a few times.
        for number in range(300):
            if len(http_refusals) >= 3 and len(grpc_refusals) >= 3:
                break
            body, trace_ids = _request("filler", 4, 50, pad=200)
            if number % 2 == 0:
                response = http.post("/v1/traces", content=body, headers=PROTOBUF)
                if response.status_code == 200:
                    acknowledged.extend(trace_ids)
                else:
                    http_refusals.append(response)
            else:
                try:
                    export(body, timeout=30)
                    acknowledged.extend(trace_ids)
                except grpc.RpcError as exc:
                    grpc_refusals.append(exc.code())
    finally:
        http.close()
        channel.close()

    assert len(acknowledged) >= 20  # the disk took some before it filled up
    assert http_refusals, "the disk never filled up"
    assert grpc_refusals, "the disk never filled up"
    assert {r.status_code for r in http_refusals} == {503}
    assert all(int(r.headers["Retry-After"]) >= 1 for r in http_refusals)
    assert "cannot write" in http_refusals[0].content.decode(errors="replace")
    assert set(grpc_refusals) == {grpc.StatusCode.UNAVAILABLE}

    # Queries still answer, and every acknowledged span is there.
    api = httpx.Client(base_url=addresses["ui"] + "/api", timeout=30)
    try:
        assert api.get("/services").json()["data"] == ["filler"]
        found = api.get("/traces", params={"service": "filler", "limit": 5})
        assert found.status_code == 200
        assert found.json()["data"]
        for trace_id in acknowledged:
            trace = api.get(f"/traces/{trace_id.hex()}")
            assert trace.status_code == 200, trace_id.hex()
            assert len(trace.json()["data"][0]["spans"]) == 50
    finally:
        api.close()

    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert "Traceback" not in stderr
    episodes = stderr.count("trace store: cannot write")
    recoveries = stderr.count("trace store: writing again")
    # One line when an episode starts (and one when it ends), never one per request.
    assert episodes >= 1
    assert episodes - recoveries in (0, 1)
    assert episodes < len(http_refusals) + len(grpc_refusals)
