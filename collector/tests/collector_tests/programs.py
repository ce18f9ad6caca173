"""Programs the tests run (openssl, chromium), from the Debian packages that
`scripts/setup_test_machine.py` installs (`make test` runs it first).

A missing program is never a reason to skip, nor installed behind the test's back: the test fails
and says which command sets the machine up.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

SETUP_COMMAND = "python3 scripts/setup_test_machine.py"
_SYSTEM_PATH = "/usr/sbin:/usr/bin"


def require_program(name: str) -> Path:
    """The path of `name`; fail the test, naming the set-up command, if the machine lacks it."""
    found = shutil.which(name) or shutil.which(name, path=_SYSTEM_PATH)
    if found is None:
        message = f"{name} is not installed: run `{SETUP_COMMAND}` (make test does)"
        pytest.fail(message, pytrace=False)
    return Path(found)
