"""`python -m benchmarks.collector --quick` runs end to end and prints its table."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow
def test_quick_benchmark_prints_every_measure() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.collector", "--quick"],
        capture_output=True,
        text=True,
        timeout=110,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for measure in (
        "ingest OTLP/gRPC (spans/s)",
        "ingest OTLP/HTTP (spans/s)",
        "ack on admission (previous mode)",
        "ratio durable ack / ack on admission",
        "trace search, limit 20 (ms)",
        "trace fetch by id (ms)",
        "collector RSS with 30,720 spans (MB)",
    ):
        assert measure in result.stdout
