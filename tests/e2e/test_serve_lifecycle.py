"""`onehub serve` and its embedded collector live and die together: real processes, real
signals (kill -9 included), real ports, a data directory that outlives each run."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.ports import free_port

from .processes import STARTUP_TIMEOUT_S, wait_healthy

ROLES = ("--addr", "--gw-addr", "--otlp-grpc-addr", "--otlp-http-addr", "--ui-addr")


@dataclass(frozen=True)
class Ports:
    grpc: int
    gateway: int
    otlp_grpc: int
    otlp_http: int
    ui: int

    def args(self) -> list[str]:
        values = (self.grpc, self.gateway, self.otlp_grpc, self.otlp_http, self.ui)
        return [
            item
            for flag, port in zip(ROLES, values, strict=True)
            for item in (flag, f"127.0.0.1:{port}")
        ]

    @property
    def collector_ports(self) -> tuple[int, int, int]:
        return self.otlp_grpc, self.otlp_http, self.ui


@pytest.fixture
def ports() -> Ports:
    return Ports(free_port(), free_port(), free_port(), free_port(), free_port())


def start_serve_with_collector(cwd: Path, ports: Ports) -> subprocess.Popen[str]:
    """`onehub serve` with its embedded collector and real telemetry, as its own process group
    (as a shell runs it: Ctrl-C goes to the whole group)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    return subprocess.Popen(
        [sys.executable, "-m", "onehub", "serve", *ports.args()],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


@pytest.fixture
def serves() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes whose whole group is killed however the test ends (a collector left behind
    is in its parent's group unless it moved to one of its own)."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.communicate(timeout=10)


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _await(condition: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.05)


def test_kill_9_of_serve_takes_the_collector_with_it(
    tmp_path: Path, ports: Ports, serves: list[subprocess.Popen[str]]
) -> None:
    first = start_serve_with_collector(tmp_path, ports)
    serves.append(first)
    wait_healthy(f"http://127.0.0.1:{ports.gateway}", first)
    (collector,) = _children(first.pid)
    assert _alive(collector)

    first.kill()
    first.wait(timeout=10)

    _await(lambda: not _alive(collector), "the collector is gone with its parent")
    for port in ports.collector_ports:
        assert _bindable(port), f"port {port} still held after serve was killed"
    # The next serve on the same addresses and data directory starts its own collector.
    second = start_serve_with_collector(tmp_path, ports)
    serves.append(second)
    wait_healthy(f"http://127.0.0.1:{ports.gateway}", second)
    (new_collector,) = _children(second.pid)
    assert new_collector != collector
    os.killpg(second.pid, signal.SIGINT)
    out, err = second.communicate(timeout=STARTUP_TIMEOUT_S)
    assert second.returncode == 0, err
    assert "OneHub is running" in out
    assert "Address already in use" not in err


def test_ctrl_c_flushes_the_last_request_trace_into_the_store(
    tmp_path: Path, ports: Ports, serves: list[subprocess.Popen[str]]
) -> None:
    gateway = f"http://127.0.0.1:{ports.gateway}"
    first = start_serve_with_collector(tmp_path, ports)
    serves.append(first)
    wait_healthy(gateway, first)
    (collector,) = _children(first.pid)

    created = httpx.post(
        f"{gateway}/api/v1/topics",
        json={"topic": {"name": "last words"}},
        auth=("admin", "admin123"),
    )
    assert created.status_code == 200
    trace_id = created.headers["traceresponse"].split("-")[1]
    os.killpg(first.pid, signal.SIGINT)  # Ctrl-C: the whole process group
    _, err = first.communicate(timeout=STARTUP_TIMEOUT_S)

    assert first.returncode == 0, err
    assert not _alive(collector)
    # Quiet and clean: our one notice, no export failures, warnings or tracebacks.
    # (The one start-up line a fresh database gives, the schema's creation, is not shutdown's.)
    notices = [line for line in err.splitlines() if " onehub.storage.migrate " not in line]
    assert notices == ["onehub: shutting down (draining in-flight requests)"], err

    second = start_serve_with_collector(tmp_path, ports)
    serves.append(second)
    wait_healthy(gateway, second)
    found = httpx.get(f"http://127.0.0.1:{ports.ui}/jaeger/api/traces/{trace_id}")
    os.killpg(second.pid, signal.SIGTERM)
    second.communicate(timeout=STARTUP_TIMEOUT_S)

    assert found.status_code == 200, found.text
    spans = found.json()["data"][0]["spans"]
    names = sorted(span["operationName"] for span in spans)
    assert {
        "gateway POST /v1/topics",
        "onehub.v1.TopicService/CreateTopic",
        "CreateTopic",
        "db.SaveTopic",
        "INSERT onehub.db",
    } <= set(names), names
    # Client and server side of the gateway's gRPC call.
    assert names.count("onehub.v1.TopicService/CreateTopic") == 2, names
    # Whole: one root, and every other span's parent is in the trace.
    ids = {span["spanID"] for span in spans}
    parents = [ref["spanID"] for span in spans for ref in span["references"]]
    assert len(parents) == len(spans) - 1
    assert set(parents) <= ids


DEBUG_CONFIG = """\
receivers: {otlp: {protocols: {grpc: {}, http: {}}}}
exporters: {onehub_store: {}, debug: {verbosity: detailed}}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [onehub_store, debug]}
"""


def test_the_collector_output_reaches_the_terminal_once_it_runs(
    tmp_path: Path, ports: Ports, serves: list[subprocess.Popen[str]]
) -> None:
    (tmp_path / "debug.yaml").write_text(DEBUG_CONFIG)
    env = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "onehub",
            "serve",
            *ports.args(),
            "--collector-config",
            "debug.yaml",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    serves.append(process)
    gateway = f"http://127.0.0.1:{ports.gateway}"
    wait_healthy(gateway, process)
    listed = httpx.get(f"{gateway}/api/v1/topics", auth=("admin", "admin123"))
    assert listed.status_code == 200

    process.terminate()
    _, err = process.communicate(timeout=STARTUP_TIMEOUT_S)

    assert process.returncode == 0, err
    # The debug exporter's lines, printed by the child after start-up, then flushed at stop.
    assert "debug: traces:" in err
    assert "gateway GET /v1/topics" in err


def test_a_collector_already_on_its_ports_stops_serve_with_one_line(
    tmp_path: Path, ports: Ports, serves: list[subprocess.Popen[str]]
) -> None:
    # What a collector orphaned by an older serve looks like: a working one on the same ports.
    stray = subprocess.Popen(
        [sys.executable, "-m", "onehub", "collector", *ports.args()[4:], "--data-dir", "stray"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    serves.append(stray)
    assert stray.stdout is not None
    assert stray.stdout.readline().startswith("onehub collector ready:")

    process = start_serve_with_collector(tmp_path, ports)
    serves.append(process)
    out, err = process.communicate(timeout=STARTUP_TIMEOUT_S)

    assert process.returncode == 1, err
    assert "OneHub is running" not in out
    assert err.splitlines() == [
        f"onehub: embedded collector: cannot listen for OTLP/HTTP on 127.0.0.1:{ports.otlp_http}: "
        "Address already in use"
    ]
