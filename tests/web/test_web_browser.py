"""The chat front end in real Chromium against a real `onehub serve`, as a person uses it."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Expect, Page, Route
from web_support import basic

from tests.browser import TIMEOUT_MS

# One worker runs them all (make test uses --dist loadgroup), so they share one server start.
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]
# A module's own `expect`, so the longer timeout does not leak into other tests' assertions.
expect = Expect()
expect.set_options(timeout=TIMEOUT_MS)


def sign_in(page: Page, user: str, password: str) -> None:
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_sign_in_create_topic_and_send_a_message(page: Page, tmp_path: Path) -> None:
    page.goto("/")
    sign_in(page, "alice", "wrong")
    expect(page.get_by_role("alert")).to_contain_text("Wrong user name or password")

    sign_in(page, "alice", "alice123")
    expect(page.locator("#whoami-name")).to_have_text("alice")
    page.get_by_label("New topic name").fill("Launch plans")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#topic-title")).to_have_text("# Launch plans")
    expect(page.get_by_role("button", name=re.compile("Launch plans"))).to_be_visible()

    page.get_by_label("Message", exact=True).fill("Hello from the browser")
    page.get_by_label("Message", exact=True).press("Enter")
    message = page.locator(".message").filter(has_text="Hello from the browser")
    expect(message).to_be_visible()
    expect(message).to_contain_text("Alice Liddell")
    expect(page.get_by_label("Message", exact=True)).to_have_value("")
    page.screenshot(path=tmp_path / "chat.png")

    # The credentials last for the tab: a reload stays signed in and the message is still there.
    page.reload()
    page.get_by_role("button", name=re.compile("Launch plans")).click()
    expect(page.locator(".message")).to_have_count(1)
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("User name")).to_be_visible()
    assert page.evaluate("sessionStorage.length") == 0


def create_topic_with_messages(site: str, user: str, name: str, count: int) -> str:
    """Create a topic and `count` messages in it over the REST API; return the topic id."""
    with httpx.Client(base_url=f"{site}/api/v1", headers=basic(user)) as api:
        created = api.post("/topics", json={"topic": {"name": name}})
        created.raise_for_status()
        topic_id: str = created.json()["topic"]["base"]["id"]
        for n in range(count):
            api.post(
                f"/topics/{topic_id}/messages",
                json={"messages": [{"contentBase": {"contentText": f"note number {n}"}}]},
            ).raise_for_status()
    return topic_id


def test_failed_call_shows_the_error_and_links_its_trace(
    page: Page, site: str, tmp_path: Path
) -> None:
    create_topic_with_messages(site, "bob", "Ops", count=0)
    page.goto("/")
    page.screenshot(path=tmp_path / "login.png")
    sign_in(page, "alice", "alice123")
    # Hold the topic's first page of messages, to type while it is still loading.
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/api/v1/messages?*", hold)
    with page.expect_request("**/api/v1/messages?*"):
        page.get_by_role("button", name=re.compile("Ops")).click()
    expect(page.locator("#topic-title")).to_have_text("# Ops")
    page.get_by_label("User id to add").fill("alice")
    assert len(held) == 1
    held[0].continue_()
    page.unroute("**/api/v1/messages?*")
    expect(page.get_by_text("No messages yet")).to_be_visible()
    # The end of loading did not pull the typing over into the message box.
    expect(page.get_by_label("User id to add")).to_be_focused()
    expect(page.get_by_label("User id to add")).to_have_value("alice")
    expect(page.get_by_label("Message", exact=True)).to_have_value("")

    # Only the creator (bob) or admin may change a topic's members.
    with page.expect_response(lambda r: r.request.method == "PATCH") as answer:
        page.get_by_role("button", name="Add", exact=True).click()
    trace_id = answer.value.headers["traceresponse"].split("-")[1]
    # serve fills the page's meta tag with its embedded viewer's address.
    viewer = page.locator('meta[name="onehub-trace-viewer"]').get_attribute("content")
    assert viewer
    assert viewer.startswith("http://127.0.0.1:")

    card = page.locator(".error-card")
    expect(card).to_contain_text("Change members failed")
    expect(card).to_contain_text("HTTP 403 PERMISSION_DENIED")
    expect(card).to_contain_text(trace_id)
    link = card.get_by_role("link", name="Open trace")
    expect(link).to_have_attribute("href", f"{viewer}/trace/{trace_id}")
    page.screenshot(path=tmp_path / "error.png")
    card.get_by_role("button", name="Dismiss").click()
    expect(card).to_have_count(0)


def test_paging_members_and_search(page: Page, site: str, tmp_path: Path) -> None:
    create_topic_with_messages(site, "bob", "History", count=35)
    page.goto("/")
    sign_in(page, "bob", "bob123")
    page.get_by_role("button", name=re.compile("History")).click()
    messages = page.locator("#message-list .message")
    expect(messages).to_have_count(30)
    expect(messages.last).to_contain_text("note number 34")
    page.get_by_role("button", name="Load older messages").click()
    expect(messages).to_have_count(35)
    expect(messages.first).to_contain_text("note number 0")
    expect(page.get_by_role("button", name="Load older messages")).to_be_hidden()

    members = page.locator("#member-list .member")
    before = members.count()
    page.get_by_label("User id to add").fill("alice")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(members).to_have_count(before + 1)
    expect(members.filter(has_text="alice")).to_have_count(1)
    page.get_by_role("button", name="Remove alice").click()
    expect(members).to_have_count(before)

    page.get_by_label("Search messages").fill("number 7")
    page.get_by_label("Search messages").press("Enter")
    expect(page.locator("#search-title")).to_contain_text("number 7")
    expect(page.locator("#search-results .message")).to_contain_text(["note number 7"])
    page.screenshot(path=tmp_path / "search.png")
    page.get_by_role("button", name="in #History").first.click()
    expect(page.locator("#topic-title")).to_have_text("# History")


def test_an_action_without_a_trace_shows_no_link_and_no_stray_text(page: Page) -> None:
    # No OpenTelemetry bundle (the page then runs untraced) and no traceresponse header on the
    # answers: the action has no trace id, so its status line has no trace link.
    page.route("**/static/js/vendor/*", lambda route: route.fulfill(status=404, body=""))

    def untraced(route: Route) -> None:
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "traceresponse"}
        route.fulfill(response=response, headers=headers)

    page.route("**/api/v1/**", untraced)
    page.goto("/")
    sign_in(page, "alice", "alice123")
    status = page.locator("#status")
    expect(status).to_have_text(re.compile(r"^Sign in \u2713 \u00b7 \d+ ms$"))
    expect(status.get_by_role("link")).to_have_count(0)
