"""Programs the tests run, from Debian packages that `scripts/setup_test_machine.py` installs
(`make test` runs it first): the collector's tests own the helper, OneHub's use the same one."""

from __future__ import annotations

from collector_tests.programs import SETUP_COMMAND, require_program

__all__ = ["SETUP_COMMAND", "require_program"]
