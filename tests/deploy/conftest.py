"""Fixtures of the deployment tests that run OneHub's processes themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from topology_support import Processes, fresh_database


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    yield from fresh_database()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """The test's processes, every one stopped at its end however it ended."""
    started = Processes(tmp_path)
    try:
        yield started
    finally:
        started.stop_all()
