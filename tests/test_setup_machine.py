"""`scripts/setup_test_machine.py`, which `make test` and `make bench` run first, is silent and
idempotent on a machine that has everything (this one, once it has run)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_machine_setup_is_silent_when_everything_is_there() -> None:
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "scripts/setup_test_machine.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_make_test_and_make_bench_set_the_machine_up_first() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "test: machine setup lint" in makefile
    assert "bench: machine setup" in makefile
    assert "scripts/setup_test_machine.py" in makefile
