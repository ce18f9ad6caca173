"""The one Chromium harness of the browser tests (the viewer's here, OneHub's in tests/): Debian's
Chromium (installed by scripts/setup_test_machine.py) driven by Playwright's sync API, headless,
with the flags this machine needs.

Open it per test module, not per session: sync Playwright keeps an event loop marked as running
in its thread while it is open, and the asyncio tests that run meanwhile in the same xdist worker
would fail with "Cannot run the event loop while another loop is running".
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from collector_tests.programs import require_program

# Headless (Playwright adds --headless), as root in a container without a user namespace
# (--no-sandbox), no GPU, and no traffic of the browser's own: the tests reach loopback only.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: the machine is shared, and a timeout only matters when something is really wrong.
TIMEOUT_MS = 15_000


def require_chromium() -> Path:
    """Return Debian's Chromium; the test fails, naming the set-up command, if it is missing."""
    return require_program("chromium")


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """A headless Chromium with CHROMIUM_ARGS, closed (with Playwright) on exit."""
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
