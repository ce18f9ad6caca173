"""The admin's "Faults" panel on the chat page, in real Chromium against a real `onehub serve`."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page
from test_web_browser import expect, sign_in
from web_support import basic, run_onehub

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]


# A server of its own (the conftest's `page` opens on it): faults switched on here must not
# slow down the other browser tests.
@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with run_onehub(tmp_path_factory.mktemp("onehub-faults")) as base_url:
        yield base_url


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
