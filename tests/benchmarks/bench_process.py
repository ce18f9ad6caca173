"""`python -m benchmarks ARGS` as `make bench` runs it, from the repository's root."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_benchmarks(
    *args: str, timeout_s: float, env: Mapping[str, str] | None = None, status: int = 0
) -> str:
    """Run the benchmarks with `args` (and environment `env`, this one's by default) and return
    what they printed; fail the test (with their output) unless they exit with `status`: 0 when
    every scenario started and no call failed."""
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert completed.returncode == status, completed.stdout + completed.stderr
    return completed.stdout
