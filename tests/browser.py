"""The one Chromium harness of the browser tests, shared with the collector's viewer tests, which
own it (collector/tests/collector_tests/browser.py): open it per test module, not per session."""

from __future__ import annotations

from collector_tests.browser import CHROMIUM_ARGS, TIMEOUT_MS, launched_chromium, require_chromium

__all__ = ["CHROMIUM_ARGS", "TIMEOUT_MS", "launched_chromium", "require_chromium"]
