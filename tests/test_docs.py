"""The README cannot drift from the commands it documents."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_opens_with_the_two_commands() -> None:
    first_block = README.split("```")[1]
    assert "make run" in first_block
    assert "make test" in first_block


def test_makefile_has_the_documented_targets() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in ("run", "test", "lint", "gen", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), target
        assert f"make {target}" in README, target


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_serve_help_in_readme_is_current() -> None:
    help_text = subprocess.run(
        [sys.executable, "-m", "onehub", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "100"},
    ).stdout
    documented = README.split("<!-- serve-help:start -->\n```\n")[1].split(
        "```\n<!-- serve-help:end -->"
    )[0]
    assert documented == help_text, "update the README: `COLUMNS=100 onehub serve --help`"
