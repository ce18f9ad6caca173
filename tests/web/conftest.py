"""Lets fixtures see whether their test failed, to print what helps explain it."""

from __future__ import annotations

from collections.abc import Generator

import pytest
from web_support import CALL_FAILED


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report
