"""Fixtures of the browser tests: one Chromium and one `onehub serve` for the whole session
(each test uses its own topics), pages that fail their test on a script error or a Content
Security Policy refusal, and the hook that lets fixtures see whether their test failed."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page
from web_support import CALL_FAILED, basic, note_csp_violation, run_onehub

from tests.browser import TIMEOUT_MS, launched_chromium


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[CALL_FAILED] = report.failed
    return report


# Per module: sync Playwright keeps an event loop running in this thread while it is open,
# which the async tests of other modules cannot share.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for the browser tests, with two named users."""
    with run_onehub(tmp_path_factory.mktemp("onehub")) as base_url:
        with httpx.Client(base_url=f"{base_url}/api/v1", headers=basic("admin")) as api:
            for user_id, name in (("alice", "Alice Liddell"), ("bob", "Bob")):
                api.post("/users", json={"user": {"id": user_id, "name": name}}).raise_for_status()
        yield base_url


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, site: str, request: pytest.FixtureRequest) -> Iterator[NewPage]:
    """Opens pages, each in a context of its own (its own session storage: its own sign-in).
    Script errors and Content-Security-Policy refusals fail the test; the pages' calls are
    printed when it fails."""
    contexts = []
    problems: list[str] = []
    calls: list[str] = []
    started = time.monotonic()

    def log(event: str) -> None:
        calls.append(f"{time.monotonic() - started:6.2f}s {event}")

    def make(width: int = 1280, height: int = 800) -> Page:
        context = browser.new_context(base_url=site, viewport={"width": width, "height": height})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        tag = f"[{len(contexts)}]"
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda message: note_csp_violation(message.text, problems))
        page.on("request", lambda r: log(f"{tag} > {r.method} {r.url}"))
        page.on("response", lambda r: log(f"{tag} < {r.status} {r.request.method} {r.url}"))
        page.on("requestfailed", lambda r: log(f"{tag} ! {r.failure} {r.method} {r.url}"))
        return page

    yield make
    for context in contexts:
        for open_page in context.pages:
            # A test's route handlers may still hold a request the page sent last (a push
            # stream, a late fetch): let them go quietly rather than fail on closing.
            open_page.unroute_all(behavior="ignoreErrors")
        context.close()
    if request.node.stash.get(CALL_FAILED, False):
        print("\n".join(calls))
    assert not problems


@pytest.fixture
def page(new_page: NewPage) -> Page:
    return new_page()
