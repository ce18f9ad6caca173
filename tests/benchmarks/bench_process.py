"""`python -m benchmarks ARGS` as `make bench` runs it, from the repository's root."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_benchmarks(*args: str, timeout_s: float) -> str:
    """Run the benchmarks with `args` and return what they printed; fail the test (with their
    output) unless they exit 0, i.e. every scenario started and no call failed."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout
