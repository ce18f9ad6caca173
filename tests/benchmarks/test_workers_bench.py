"""The workers benchmark's arithmetic: CPU of a server with workers, the 2/1 ratio lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from benchmarks.runs import Summary
from benchmarks.servers import process_cpu_seconds
from benchmarks.workers_bench import WorkersRow, workers_report

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
