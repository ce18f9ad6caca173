"""The admin's "Faults" panel on the chat page, in real Chromium against a real `onehub serve`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from test_web_browser import TIMEOUT_MS, basic, expect, note_csp_violation, sign_in
from web_support import CHROMIUM_ARGS, require_chromium, run_onehub

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_onehub(tmp_path_factory.mktemp("onehub-faults")) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = require_chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    context = browser.new_context(base_url=site, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: note_csp_violation(message.text, problems))
    yield page
    context.close()
    assert not problems


def _faults(site: str) -> dict[str, str]:
    state = httpx.get(f"{site}/admin/faults", headers=basic("admin")).json()
    return dict(state["faults"])


def test_admin_switches_faults_from_the_page(page: Page, site: str) -> None:
    page.goto("/")
    sign_in(page, "admin", "admin123")
    panel = page.locator("#faults-panel")
    panel.get_by_text("Faults", exact=True).click()
    expect(panel.get_by_role("status")).to_have_text("All faults off")

    panel.get_by_label("n-plus-one", exact=True).check()
    panel.get_by_label("db-latency", exact=True).check()
    panel.get_by_label("db-latency value").fill("250ms@0.5")
    panel.get_by_role("button", name="Apply").click()
    expect(panel.get_by_role("status")).to_have_text("On: db-latency, n-plus-one")
    assert _faults(site) == {"db-latency": "250ms@0.5", "n-plus-one": ""}

    panel.get_by_label("db-latency value").fill("soon")
    panel.get_by_role("button", name="Apply").click()
    expect(panel.get_by_role("status")).to_contain_text("not a duration")
    assert _faults(site) == {"db-latency": "250ms@0.5", "n-plus-one": ""}

    panel.get_by_label("db-latency", exact=True).uncheck()
    panel.get_by_label("n-plus-one", exact=True).uncheck()
    panel.get_by_role("button", name="Apply").click()
    expect(panel.get_by_role("status")).to_have_text("All faults off")
    assert _faults(site) == {}


def test_no_panel_for_anyone_but_admin(page: Page) -> None:
    page.goto("/")
    sign_in(page, "alice", "alice123")
    expect(page.locator("#whoami-name")).to_have_text("alice")
    expect(page.locator("#faults-panel")).to_have_count(0)
