"""`onehub collector --watch-parent`, as `onehub serve` runs it: deaf to the terminal's Ctrl-C,
it stops (storing what it holds) when its stdin closes, and on Linux when its parent dies even
if someone else still holds that pipe."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from collector_tests.conftest import now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector.cli import READY_PREFIX

COLLECTOR = [
    sys.executable,
    "-m",
    "onehub_collector",
    "--otlp-grpc-addr",
    "127.0.0.1:0",
    "--otlp-http-addr",
    "127.0.0.1:0",
    "--ui-addr",
    "127.0.0.1:0",
    "--watch-parent",
]


def _ready_addresses(line: str) -> dict[str, str]:
    assert line.startswith(READY_PREFIX), line
    return dict(part.split("=", 1) for part in line.removeprefix(READY_PREFIX).split())


def _post_one_span(otlp_http: str) -> None:
    trace_id = new_trace_id()
    body = traces_request([SpanSpec("parent-watch", "last", now_us(), 5, trace_id)])
    response = httpx.post(
        f"http://{otlp_http}/v1/traces",
        content=body.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )
    assert response.status_code == 200


def _stored_spans(data_dir: Path) -> int:
    with sqlite3.connect(data_dir / "traces.db") as conn:
        (count,) = conn.execute("SELECT count(*) FROM spans").fetchone()
    return int(count)


def test_sigint_is_ignored_and_closing_stdin_stores_and_stops(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [*COLLECTOR, "--data-dir", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdin is not None
        addresses = _ready_addresses(process.stdout.readline())
        process.send_signal(signal.SIGINT)  # the terminal's Ctrl-C is the parent's business
        assert httpx.get(f"{addresses['ui']}/api/services", timeout=10).status_code == 200
        assert process.poll() is None
        _post_one_span(addresses["otlp_http"])

        process.stdin.close()  # what the kernel does when the parent ends, however it ends

        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.stderr is not None
    assert process.stdout is not None
    with process.stdout, process.stderr:
        assert "Traceback" not in process.stderr.read()
    assert _stored_spans(tmp_path) == 1


def test_parent_death_stops_it_even_when_stdin_stays_open(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()  # we keep the write end: no end of file will come
    ready = tmp_path / "ready.txt"
    parent_code = (
        "import subprocess, sys, time\n"
        f"child = subprocess.Popen({[*COLLECTOR, '--data-dir', str(tmp_path)]!r},"
        f" stdin={read_end}, stdout=open({str(ready)!r}, 'w'))\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], pass_fds=(read_end,), stdout=subprocess.PIPE
    )
    os.close(read_end)
    collector = 0
    try:
        assert parent.stdout is not None
        collector = int(parent.stdout.readline())
        deadline = time.monotonic() + 30
        while not ready.read_text().startswith(READY_PREFIX):
            assert time.monotonic() < deadline, "the collector never became ready"
            time.sleep(0.05)
        _post_one_span(_ready_addresses(ready.read_text())["otlp_http"])

        parent.kill()
        parent.wait(10)

        deadline = time.monotonic() + 20
        while _running(collector):
            assert time.monotonic() < deadline, "the collector outlived its parent"
            time.sleep(0.05)
    finally:
        os.close(write_end)
        if parent.poll() is None:
            parent.kill()
        parent.wait(10)
        if parent.stdout is not None:
            parent.stdout.close()
        if collector and _running(collector):
            os.kill(collector, signal.SIGKILL)
    assert _stored_spans(tmp_path) == 1


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status
