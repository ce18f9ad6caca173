"""Fixtures for the viewer's tests: a real Chromium (from scripts/setup_test_machine.py) and a
real HTTP server on a loopback port chosen by the OS."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page
from starlette.types import ASGIApp

from collector_tests.browser import TIMEOUT_MS, launched_chromium


# Per module: see collector_tests/browser.py.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page; any script error or console error fails the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    new_page = context.new_page()
    problems: list[str] = []
    new_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def on_console(message: ConsoleMessage) -> None:
        # A 404 from the trace endpoint is the answer the not-found test asks for.
        expected = "/jaeger/api/traces/" in message.location.get("url", "")
        if message.type == "error" and not expected:
            problems.append(f"console: {message.text}")

    new_page.on("console", on_console)
    new_page.on("dialog", lambda d: problems.append(f"dialog: {d.message}"))
    new_page.set_default_timeout(TIMEOUT_MS)
    yield new_page
    # A test's route handlers may still hold a late request: let them go quietly on closing.
    new_page.unroute_all(behavior="ignoreErrors")
    context.close()
    assert problems == []


class ServerThread:
    """Uvicorn serving `app` on 127.0.0.1 and a port the OS picks, in a background thread."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *args: object) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
