"""The rules of h() and s() (collector/src/onehub_collector/web/static/js/h.js), the one DOM
builder of the trace viewer and the chat page, checked in Chromium as each app serves it: the
viewer at /jaeger/static/js/h.js, the chat app at /static/js/h.js."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette

from collector_tests.web.conftest import ServerThread
from onehub.web import web_routes
from onehub_collector.web import viewer_routes

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("viewer-browser")]

# Runs in the page; returns what each rule produced.
CASES = """async (url) => {
  const { h, s } = await import(url);
  const out = {};
  const text = h("p", null, "<b>bold</b> & <script>x()</script>");
  out.textContent = text.textContent;
  out.textHtml = text.innerHTML;
  out.textElements = text.children.length;

  const mixed = h("p", undefined, ["a", [null, ["b", 0]], false, undefined], null, true, 1.5);
  out.mixedText = mixed.textContent;
  out.mixedNodes = mixed.childNodes.length;
  const child = h("em", {}, "kept");
  out.nodeKept = h("div", {}, child).firstChild === child;

  const input = h("input", {
    type: "checkbox", checked: true, disabled: false, title: null, alt: undefined,
    tabindex: 3, class: "a b", "aria-label": "Pick", dataset: { traceId: "abc" },
    style: { width: "10px" },
  });
  out.attributes = Object.fromEntries([...input.attributes].map((a) => [a.name, a.value]));
  out.styleWidth = input.style.width;

  const clicks = [];
  const button = h("button", {
    onClick: () => clicks.push("onClick"), onclick: () => clicks.push("onclick"),
  });
  button.click();
  out.clicks = clicks;
  out.buttonAttributes = button.attributes.length;

  try {
    h("button", { onclick: "alert(1)" });
    out.stringHandler = "accepted";
  } catch (error) {
    out.stringHandler = `${error.name}: ${error.message}`;
  }

  const svg = s("svg", { viewBox: "0 0 10 10" }, s("rect", { width: 4, style: { fill: "red" } }));
  out.svgNamespace = svg.namespaceURI;
  out.svgChild = svg.firstChild.namespaceURI + " " + svg.firstChild.getAttribute("width");
  out.svgViewBox = svg.getAttribute("viewBox");
  return out;
}"""

EXPECTED = {
    "textContent": "<b>bold</b> & <script>x()</script>",
    "textHtml": "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;x()&lt;/script&gt;",
    "textElements": 0,
    "mixedText": "ab0true1.5",
    "mixedNodes": 5,
    "nodeKept": True,
    "attributes": {
        "type": "checkbox",
        "checked": "",
        "tabindex": "3",
        "class": "a b",
        "aria-label": "Pick",
        "data-trace-id": "abc",
        "style": "width: 10px;",
    },
    "styleWidth": "10px",
    "clicks": ["onClick", "onclick"],
    "buttonAttributes": 0,
    "stringHandler": "TypeError: h(): onclick must be a function",
    "svgNamespace": "http://www.w3.org/2000/svg",
    "svgChild": "http://www.w3.org/2000/svg 4",
    "svgViewBox": "0 0 10 10",
}


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    """The viewer's and the chat app's routes, each on its own server."""
    viewer_app, chat_app = Starlette(routes=viewer_routes()), Starlette(routes=web_routes())
    with ServerThread(viewer_app) as viewer, ServerThread(chat_app) as chat:
        yield {"viewer": f"{viewer}/jaeger/static/js/h.js", "chat": f"{chat}/static/js/h.js"}


@pytest.mark.parametrize("app", ["viewer", "chat"])
def test_h_follows_its_rules(page: Any, servers: dict[str, str], app: str) -> None:
    url = servers[app]
    origin = url.split("/static/")[0].removesuffix("/jaeger")
    # A blank page of the app's own origin to import the module into.
    page.route(
        f"{origin}/blank",
        lambda route: route.fulfill(
            body="<!doctype html><title>h</title>", content_type="text/html"
        ),
    )
    page.goto(f"{origin}/blank")
    assert page.evaluate(CASES, url) == EXPECTED
