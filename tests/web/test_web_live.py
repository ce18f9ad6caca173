"""The chat page in real Chromium: traces that start at the click, pushed messages, the topic
list's filter and unread badges, members that do not exist, a phone-sized screen, and a trace
link on every action."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import NewPage
from playwright.sync_api import Expect, Page, Request, Response, Route
from web_support import basic, screenshot_dir

from tests.browser import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("web-browser")]
expect = Expect()
expect.set_options(timeout=TIMEOUT_MS)
# "Within about two seconds" of the send, for a message pushed to another page.
PUSH_MS = 2_500


def sign_in(page: Page, user: str) -> None:
    """Sign in and wait until the page's event stream is open."""
    page.goto("/")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(f"{user}123")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#whoami-name")).to_have_text(user)
    expect(page.locator("body")).to_have_attribute("data-live", "yes")


def create_topic(site: str, user: str, name: str, members: tuple[str, ...] = ()) -> str:
    with httpx.Client(base_url=f"{site}/api/v1", headers=basic(user)) as api:
        topic = {"name": name, "users": dict.fromkeys(members, True)}
        created = api.post("/topics", json={"topic": topic})
        created.raise_for_status()
        topic_id: str = created.json()["topic"]["base"]["id"]
    return topic_id


def post_message(site: str, user: str, topic_id: str, text: str) -> None:
    with httpx.Client(base_url=f"{site}/api/v1", headers=basic(user)) as api:
        api.post(
            f"/topics/{topic_id}/messages",
            json={"messages": [{"contentBase": {"contentText": text}}]},
        ).raise_for_status()


def topic_button(page: Page, name: str) -> Any:
    return page.locator("#topic-list .topic").filter(has_text=name)


def viewer_of(page: Page) -> str:
    viewer = page.locator('meta[name="onehub-trace-viewer"]').get_attribute("content")
    assert viewer, "serve names its embedded viewer in the page"
    return viewer


def trace_id_of(response: Response) -> str:
    return response.headers["traceresponse"].split("-")[1]


def api_calls(requests: list[Request]) -> list[str]:
    return [f"{r.method} {r.url}" for r in requests if "/api/v1/" in r.url]


def wait_for_trace(viewer: str, trace_id: str, ready: Any) -> dict[str, Any]:
    """The trace from the embedded collector's Jaeger API, once `ready(trace)` holds (the
    browser exports in batches, so its spans come a little after the server's)."""
    deadline = time.monotonic() + 20
    last: dict[str, Any] = {}
    with httpx.Client(timeout=5) as http:
        while time.monotonic() < deadline:
            answer = http.get(f"{viewer}/api/traces/{trace_id}")
            if answer.status_code == 200 and answer.json().get("data"):
                last = answer.json()["data"][0]
                if ready(last):
                    return last
            time.sleep(0.25)
    raise AssertionError(f"trace {trace_id} never complete: {last}")


def service_of(trace: dict[str, Any], span: dict[str, Any]) -> str:
    return str(trace["processes"][span["processID"]]["serviceName"])


def tag(span: dict[str, Any], key: str) -> Any:
    return next((t["value"] for t in span["tags"] if t["key"] == key), None)


def roots(trace: dict[str, Any]) -> list[dict[str, Any]]:
    ids = {span["spanID"] for span in trace["spans"]}
    return [
        span
        for span in trace["spans"]
        if not any(ref["spanID"] in ids for ref in span.get("references", []))
    ]


def ancestors(trace: dict[str, Any], span: dict[str, Any]) -> list[dict[str, Any]]:
    by_id = {s["spanID"]: s for s in trace["spans"]}
    chain = []
    while span.get("references"):
        parent = by_id.get(span["references"][0]["spanID"])
        if parent is None:
            break
        chain.append(parent)
        span = parent
    return chain


def test_a_click_is_one_trace_rooted_in_the_browser(page: Page, site: str, tmp_path: Path) -> None:
    create_topic(site, "bob", "Traced talk", members=("alice", "bob"))
    sign_in(page, "alice")
    viewer = viewer_of(page)
    with page.expect_response(re.compile(r"/api/v1/messages\?")) as answer:
        topic_button(page, "Traced talk").click()
    trace_id = trace_id_of(answer.value)
    # The call carried the browser's context, and the gateway continued it.
    traceparent = answer.value.request.headers.get("traceparent", "")
    assert traceparent.split("-")[1] == trace_id

    def complete(trace: dict[str, Any]) -> bool:
        # Complete once the page's spans (exported in batches) join the server's into one tree.
        names = {span["operationName"] for span in trace["spans"]}
        joined = len(roots(trace)) == 1
        return joined and "click" in names and any(n.startswith("gateway GET") for n in names)

    trace = wait_for_trace(viewer, trace_id, complete)
    [root] = roots(trace)
    assert (root["operationName"], service_of(trace, root)) == ("click", "onehub.web")
    gateway = next(s for s in trace["spans"] if s["operationName"].startswith("gateway GET"))
    assert tag(gateway, "span.kind") == "server"
    chain = [(s["operationName"], service_of(trace, s)) for s in ancestors(trace, gateway)]
    # gateway SERVER <- the page's fetch <- the "Open topic" action <- the click.
    assert chain[-1] == ("click", "onehub.web")
    assert ("Open topic", "onehub.web") in chain
    assert chain[0][1] == "onehub.web"
    # Below the gateway the same trace runs on: gRPC, the service and SQL.
    services = {service_of(trace, span) for span in trace["spans"]}
    assert services >= {"onehub.web", "onehub"}
    names = [span["operationName"] for span in trace["spans"]]
    assert any(name.startswith("onehub.v1.MessageService") for name in names), names
    page.screenshot(path=screenshot_dir(tmp_path) / "traced-click.png")


def test_a_message_is_pushed_to_another_page_without_polling(
    new_page: NewPage, site: str, tmp_path: Path
) -> None:
    create_topic(site, "alice", "Live room", members=("alice", "bob"))
    alice, bob = new_page(), new_page()
    sign_in(alice, "alice")
    sign_in(bob, "bob")
    for page in (alice, bob):
        with page.expect_response(re.compile(r"/api/v1/messages\?")):
            topic_button(page, "Live room").click()
        expect(page.get_by_text("No messages yet")).to_be_visible()
    # Bob's page is listening on its stream before Alice speaks.
    expect(bob.locator("body")).to_have_attribute("data-live", "yes")
    bob_calls: list[Request] = []
    bob.on("request", lambda request: bob_calls.append(request))

    alice.get_by_label("Message", exact=True).fill("Are you there, Bob?")
    alice.get_by_label("Message", exact=True).press("Enter")
    sent = time.monotonic()
    arrived = bob.locator("#message-list .message").filter(has_text="Are you there, Bob?")
    expect(arrived).to_be_visible(timeout=PUSH_MS)
    took = time.monotonic() - sent
    expect(arrived).to_contain_text("Alice Liddell")
    assert api_calls(bob_calls) == [], f"bob's page asked for it: {api_calls(bob_calls)}"
    print(f"pushed to the other page in {took * 1000:.0f} ms")
    bob.screenshot(path=screenshot_dir(tmp_path) / "pushed-message.png")


def test_opening_a_topic_is_one_call(page: Page, site: str) -> None:
    topic_id = create_topic(site, "bob", "One call", members=("alice", "bob"))
    post_message(site, "bob", topic_id, "first")
    sign_in(page, "alice")
    expect(topic_button(page, "One call")).to_be_visible()
    calls: list[Request] = []
    page.on("request", lambda request: calls.append(request))
    topic_button(page, "One call").click()
    expect(page.locator("#message-list .message")).to_have_count(1)
    expect(page.locator("#member-list .member")).to_have_count(2)
    expect(page.locator("#status")).to_contain_text("Open topic")
    assert len(api_calls(calls)) == 1, api_calls(calls)


def test_topic_filter_and_new_topics_at_once(page: Page, site: str, tmp_path: Path) -> None:
    create_topic(site, "bob", "Filter alpha")
    create_topic(site, "bob", "Filter beta")
    sign_in(page, "alice")
    expect(topic_button(page, "Filter beta")).to_be_visible()
    page.get_by_label("Filter topics").fill("ALPHA")
    expect(topic_button(page, "Filter alpha")).to_be_visible()
    expect(topic_button(page, "Filter beta")).to_have_count(0)
    page.screenshot(path=screenshot_dir(tmp_path) / "topic-filter.png")
    page.get_by_label("Filter topics").fill("no such topic here")
    expect(page.locator("#topic-list")).to_contain_text("No topic matches.")
    page.get_by_label("Filter topics").fill("")
    expect(topic_button(page, "Filter beta")).to_be_visible()

    # Someone else's new topic shows up without a reload; one's own at once, opened.
    create_topic(site, "bob", "Filter gamma, by Bob")
    expect(topic_button(page, "Filter gamma, by Bob")).to_be_visible(timeout=PUSH_MS)
    page.get_by_label("Filter topics").fill("beta")
    page.get_by_label("New topic name").fill("Filter delta")
    page.get_by_role("button", name="Create").click()
    expect(topic_button(page, "Filter delta")).to_be_visible()
    expect(topic_button(page, "Filter delta")).to_have_attribute("aria-current", "true")
    expect(page.get_by_label("Filter topics")).to_have_value("")

    # A topic deleted elsewhere leaves the list, and the view if it was open.
    with httpx.Client(base_url=f"{site}/api/v1", headers=basic("admin")) as api:
        delta = page.locator("#topic-list .topic[aria-current]").get_attribute("data-topic-id")
        api.delete(f"/topics/{delta}").raise_for_status()
    expect(topic_button(page, "Filter delta")).to_have_count(0, timeout=PUSH_MS)
    expect(page.locator("#empty-state")).to_be_visible()


def test_unread_badges_count_messages_from_others(page: Page, site: str, tmp_path: Path) -> None:
    here = create_topic(site, "alice", "Unread here", members=("alice",))
    elsewhere = create_topic(site, "bob", "Unread elsewhere", members=("alice", "bob"))
    sign_in(page, "alice")
    topic_button(page, "Unread here").click()
    expect(page.locator("#topic-title")).to_have_text("# Unread here")
    # No "0" badges: a topic without news has none.
    expect(page.locator("#topic-list .badge")).to_have_count(0)

    post_message(site, "bob", elsewhere, "news one")
    post_message(site, "bob", elsewhere, "news two")
    post_message(site, "alice", elsewhere, "my own words are not news to me")
    post_message(site, "bob", here, "in the open topic: shown, not counted")
    badge = topic_button(page, "Unread elsewhere").locator(".badge")
    expect(badge).to_have_text("2")
    expect(badge).to_have_attribute("title", "2 unread")
    expect(page.locator("#message-list")).to_contain_text("in the open topic")
    expect(topic_button(page, "Unread here").locator(".badge")).to_have_count(0)
    page.screenshot(path=screenshot_dir(tmp_path) / "unread-badge.png")
    # The counts last as long as the tab: a reload keeps them.
    page.reload()
    expect(badge).to_have_text("2")

    topic_button(page, "Unread elsewhere").click()
    expect(page.locator("#message-list .message")).to_have_count(3)
    expect(page.locator("#topic-list .badge")).to_have_count(0)


def test_adding_a_member_who_does_not_exist_is_an_error(
    page: Page, site: str, tmp_path: Path
) -> None:
    create_topic(site, "alice", "Members only", members=("alice",))
    sign_in(page, "alice")
    topic_button(page, "Members only").click()
    members = page.locator("#member-list .member")
    expect(members).to_have_count(1)
    patches: list[Request] = []
    page.on("request", lambda r: patches.append(r) if r.method == "PATCH" else None)

    page.get_by_label("User id to add").fill("nobody-by-this-name")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-member-error")).to_contain_text("No user “nobody-by-this-name”")
    card = page.locator(".error-card")
    expect(card).to_contain_text("Add member failed")
    expect(card).to_contain_text("there is no user with the id “nobody-by-this-name”")
    expect(page.locator("#status")).to_contain_text("Add member failed")
    expect(members).to_have_count(1)
    expect(page.get_by_label("User id to add")).to_have_value("nobody-by-this-name")
    assert patches == []
    page.screenshot(path=screenshot_dir(tmp_path) / "no-such-member.png")

    # A real user is added, and the error goes.
    page.get_by_label("User id to add").fill("bob")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(members).to_have_count(2)
    expect(page.locator("#add-member-error")).to_be_hidden()


def test_phone_layout(new_page: NewPage, site: str, tmp_path: Path) -> None:
    create_topic(site, "alice", "Pocket talk", members=("alice",))
    page = new_page(width=390, height=844)
    sign_in(page, "alice")
    shots = screenshot_dir(tmp_path)
    # Nothing open yet: the topic list is what shows, over the whole width it needs.
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_visible()
    page.screenshot(path=shots / "phone-topics.png")
    topic_button(page, "Pocket talk").click()
    expect(page.locator("#topic-title")).to_have_text("# Pocket talk")
    # The list folds away; the conversation and its composer get the screen.
    expect(sidebar).to_be_hidden()
    composer = page.get_by_label("Message", exact=True)
    expect(composer).to_be_visible()
    send = page.get_by_role("button", name="Send")
    expect(send).to_be_visible()
    box = composer.bounding_box()
    send_box = send.bounding_box()
    assert box is not None
    assert send_box is not None
    assert box["width"] > 250, box
    assert send_box["x"] + send_box["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    composer.fill("typed on a phone")
    composer.press("Enter")
    expect(page.locator(".message").filter(has_text="typed on a phone")).to_be_visible()
    expect(page.locator("#status .trace-link")).to_be_visible()
    page.screenshot(path=shots / "phone-conversation.png")
    # "Topics" brings the list back over the conversation.
    page.get_by_role("button", name="Topics", exact=True).click()
    expect(sidebar).to_be_visible()
    expect(topic_button(page, "Pocket talk")).to_be_visible()
    page.screenshot(path=shots / "phone-drawer.png", animations="disabled")


def test_every_action_links_its_trace(page: Page, site: str, tmp_path: Path) -> None:
    sign_in(page, "alice")
    viewer = viewer_of(page)
    link = page.locator("#status .trace-link")

    def check(name: str, response: Response) -> None:
        expect(page.locator("#status")).to_contain_text(name)
        expect(link).to_have_attribute("href", f"{viewer}/trace/{trace_id_of(response)}")

    with page.expect_response(lambda r: r.request.method == "POST" and "/topics" in r.url) as r:
        page.get_by_label("New topic name").fill("Traced actions")
        page.get_by_role("button", name="Create").click()
    check("Create topic", r.value)
    with page.expect_response(lambda r: r.request.method == "POST" and "/messages" in r.url) as r:
        page.get_by_label("Message", exact=True).fill("a traced message")
        page.get_by_role("button", name="Send").click()
    check("Send message", r.value)
    with page.expect_response(lambda r: r.request.method == "PATCH") as r:
        page.get_by_label("User id to add").fill("bob")
        page.get_by_role("button", name="Add", exact=True).click()
    check("Add member", r.value)
    with page.expect_response(re.compile(r"/api/v1/messages\?.*search_phrase")) as r:
        page.get_by_label("Search messages").fill("traced")
        page.get_by_label("Search messages").press("Enter")
    check("Search messages", r.value)
    page.screenshot(path=screenshot_dir(tmp_path) / "trace-link.png")
    # The link opens that very trace in the viewer, with the browser's spans in it.
    trace_id = link.get_attribute("data-trace-id")
    assert trace_id
    trace = wait_for_trace(
        viewer,
        trace_id,
        lambda t: (
            {"Search messages", "gateway GET /v1/messages"}
            <= {s["operationName"] for s in t["spans"]}
        ),
    )
    assert {service_of(trace, span) for span in trace["spans"]} >= {"onehub.web", "onehub"}


@pytest.mark.parametrize("otlp", ["", "http://127.0.0.1:9/v1/traces"], ids=["off", "unreachable"])
def test_the_page_works_with_tracing_off_or_its_collector_gone(
    page: Page, site: str, otlp: str
) -> None:
    """No OTLP URL from the server: no SDK, no traceparent, traces start at the gateway (and
    are still linked). A collector that is gone: spans are lost, nothing else."""

    def serve_page(route: Route) -> None:
        # The page as a server configured so would send it: its meta tag and connect-src.
        original = route.fetch()
        served = re.search(r'<meta name="onehub-otlp-traces" content="([^"]*)">', original.text())
        assert served
        body = original.text().replace(
            served[0], f'<meta name="onehub-otlp-traces" content="{otlp}">'
        )
        headers = dict(original.headers)
        allowed = re.match(r"https?://[^/]+", served[1])
        assert allowed
        headers["content-security-policy"] = headers["content-security-policy"].replace(
            f" {allowed[0]}", " http://127.0.0.1:9" if otlp else ""
        )
        route.fulfill(response=original, body=body, headers=headers)

    page.route(f"{site}/", serve_page)
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))
    create_topic(site, "alice", f"Untraced {otlp or 'off'}", members=("alice",))
    sign_in(page, "alice")
    topic_button(page, f"Untraced {otlp or 'off'}").click()
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.get_by_label("Message", exact=True).fill("still works")
        page.get_by_label("Message", exact=True).press("Enter")
    expect(page.locator(".message").filter(has_text="still works")).to_be_visible()
    link = page.locator("#status .trace-link")
    expect(link).to_have_attribute("data-trace-id", trace_id_of(answer.value))
    has_traceparent = "traceparent" in answer.value.request.headers
    assert has_traceparent == bool(otlp)
    vendor = [r.url for r in sent if "/vendor/" in r.url]
    assert bool(vendor) == bool(otlp), vendor
