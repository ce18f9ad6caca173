"""The workers benchmark: CPU of a server with workers, the 2/1 ratio lines, and `--only workers`
run for real, with wrk and without."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.runs import Summary
from benchmarks.servers import process_cpu_seconds
from benchmarks.workers_bench import WorkersRow, worker_split, workers_report
from tests.benchmarks.bench_process import run_benchmarks
from tests.debian_packages import require_program

# A parent that only waits, and a child that burns CPU, then waits to be measured.
_PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]])
child.wait()
"""
_CHILD = """
import os, time
end = time.process_time() + 0.4
while time.process_time() < end:
    pass
print(os.getpid(), flush=True)
time.sleep(30)
"""


def test_a_supervisors_cpu_counts_its_workers() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", _PARENT, _CHILD], stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())  # it has burnt its 0.4 s of CPU and now sleeps
    try:
        assert process_cpu_seconds(parent.pid) >= 0.35
    finally:
        os.kill(child, signal.SIGKILL)
        parent.wait(10)
        parent.stdout.close()


def _summary(throughput: float, cpu_ms: float) -> Summary:
    return Summary(throughput, 1.0, 2.0, {"server": cpu_ms}, 0.5, 0, None)


def test_the_report_gives_each_operations_ratio_against_its_goal() -> None:
    rows = [
        WorkersRow("sqlite", "get_topic", 1, _summary(500, 1.0)),
        WorkersRow("sqlite", "get_topic", 2, _summary(950, 1.1)),
        WorkersRow("sqlite", "post_message", 1, _summary(200, 4.0)),
        WorkersRow("sqlite", "post_message", 2, _summary(220, 4.0)),
    ]
    report = workers_report(rows)
    assert (
        "GET topic     throughput 1.90 (goal >= 1.8: met)  server CPU per request 1.10x" in report
    )
    assert "POST message  throughput 1.10 (goal >= 1.5: NOT met)" in report
    # 500 req/s at 1.0 ms of CPU each: half a core; 950 at 1.1 ms: 1.045, printed 1.04.
    assert "server busy 0.50 -> 1.04 cores" in report


def test_the_report_shows_how_the_servers_cpu_was_split_between_its_workers() -> None:
    cpu = {"server": 2.0, "worker 1": 1.5, "worker 2": 0.5}
    two = Summary(900, 1.0, 2.0, cpu, 0.05, 0, None)
    rows = [
        WorkersRow("sqlite", "get_topic", 1, _summary(500, 1.0)),
        WorkersRow("sqlite", "get_topic", 2, two),
    ]

    lines = workers_report(rows).splitlines()

    assert lines[0].endswith("failed  worker CPU split")
    assert lines[2].endswith(" -")
    assert lines[3].endswith(" 75/25")
    assert worker_split(two) == "75/25"


def _rows(output: str) -> list[list[str]]:
    return [
        line.split() for line in output.splitlines() if line.startswith(("sqlite ", "postgres "))
    ]


@pytest.mark.slow
def test_the_workers_rows_are_driven_by_wrk_when_it_is_installed() -> None:
    require_program("wrk")
    output = run_benchmarks(
        "--quick", "--duration", "0.3", "--warmup", "0.2", "--only", "workers", timeout_s=120
    )

    sections = output.split("\n== ")[1:]
    assert [section.splitlines()[0].split(":")[0] for section in sections] == [
        "Workers on sqlite",
        "Workers on postgres",
    ]
    for section in sections:
        assert re.match(r"load: wrk \d+\.\d+", section.splitlines()[1]), section
    rows = _rows(output)
    assert {(row[0], row[1], row[3]) for row in rows} == {
        (backend, operation, workers)
        for backend in ("sqlite", "postgres")
        for operation in ("GET", "POST")
        for workers in ("1", "2")
    }
    for row in rows:
        rate, p50, p99, server_cpu = (float(cell) for cell in row[4:8])
        assert min(rate, p50, server_cpu) > 0, row
        assert p99 >= p50, row
        assert row[-2] == "0", row  # failed calls
        if row[3] == "2":  # each worker's share of the server's CPU
            assert sum(int(share) for share in row[-1].split("/")) in (99, 100, 101), row


def test_without_wrk_the_workers_rows_say_they_fall_back_to_python_and_how_to_get_wrk() -> None:
    # Only this interpreter's directory on PATH: no wrk. The servers are told to start with a
    # command that fails at once, so the run stops right after it printed its load line.
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}
    output = run_benchmarks(
        "--quick",
        "--only",
        "workers",
        "--server-command",
        "false",
        env=env,
        status=1,
        timeout_s=60,
    )

    load_lines = [line for line in output.splitlines() if line.startswith("load: the Python")]
    assert len(load_lines) == 2, output  # one per backend
    assert "wrk is not installed" in load_lines[0]
    assert "apt-get install wrk" in load_lines[0]
    assert "could not run" in output
