"""The routes that serve the web front end: page, assets, viewer URL, headers, bad input."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette

from onehub.web import web_routes
from onehub.web.routes import STATIC_DIR
from onehub_collector.web.assets import load_assets


def client(viewer_url: str | None = None) -> httpx.AsyncClient:
    app = Starlette(routes=web_routes(viewer_url))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://onehub.test")


def viewer_meta(page: str) -> str:
    match = re.search(r'<meta name="onehub-trace-viewer" content="([^"]*)">', page)
    assert match, "the page lost its trace viewer meta tag"
    return match.group(1)


async def test_index_is_the_app_page_with_strict_headers() -> None:
    async with client() as http:
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert '<script type="module" src="/static/js/app.js">' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert viewer_meta(response.text) == ""


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("http://localhost:16686/jaeger", "http://localhost:16686/jaeger"),
        ("https://traces.example/jaeger/", "https://traces.example/jaeger"),
        ("/jaeger", "/jaeger"),
        ('/jaeger"><script>', "/jaeger&quot;&gt;&lt;script&gt;"),
    ],
)
async def test_viewer_url_fills_the_meta_tag_escaped(given: str, shown: str) -> None:
    async with client(given) as http:
        assert viewer_meta((await http.get("/")).text) == shown


@pytest.mark.parametrize("bad", ["javascript:alert(1)", "ftp://host/x", "//evil.example", "jaeger"])
def test_viewer_url_that_is_not_a_web_address_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="viewer_url"):
        web_routes(bad)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/static/js/app.js", "javascript"),
        ("/static/js/api.js", "javascript"),
        ("/static/css/app.css", "text/css"),
        ("/static/favicon.svg", "image/svg+xml"),
    ],
)
async def test_assets_are_served_with_their_types(path: str, kind: str) -> None:
    async with client() as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert kind in response.headers["content-type"]


async def test_every_module_the_page_imports_is_served() -> None:
    async with client() as http:
        for module in (STATIC_DIR / "js").glob("*.js"):
            for imported in re.findall(r'from "\./([\w.]+)"', module.read_text()):
                response = await http.get(f"/static/js/{imported}")
                assert response.status_code == 200, f"{module.name} imports {imported}"
                assert "javascript" in response.headers["content-type"]


async def test_the_page_builds_its_elements_with_the_viewers_h_module() -> None:
    # One file for both pages: what the chat app serves is the viewer's h.js, byte for byte.
    async with client() as http:
        response = await http.get("/static/js/h.js")
    assert response.status_code == 200
    assert response.content == load_assets().assets["js/h.js"].body
    assert 'import { h } from "./h.js";' in (STATIC_DIR / "js" / "dom.js").read_text()


async def test_unknown_asset_and_path_traversal_are_404() -> None:
    async with client() as http:
        assert (await http.get("/static/js/nope.js")).status_code == 404
        assert (await http.get("/static/%2e%2e/routes.py")).status_code == 404
        assert (await http.get("/static/..%2froutes.py")).status_code == 404


def otlp_meta(page: str) -> str:
    match = re.search(r'<meta name="onehub-otlp-traces" content="([^"]*)">', page)
    assert match, "the page lost its OTLP meta tag"
    return match.group(1)


async def test_otlp_url_reaches_the_page_and_its_connect_src() -> None:
    app = Starlette(routes=web_routes(otlp_traces_url="http://127.0.0.1:4318/v1/traces"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://onehub.test"
    ) as http:
        response = await http.get("/")
    assert otlp_meta(response.text) == "http://127.0.0.1:4318/v1/traces"
    policy = response.headers["content-security-policy"]
    assert "connect-src 'self' http://127.0.0.1:4318;" in policy


async def test_without_a_collector_the_page_traces_nothing_and_connects_only_home() -> None:
    async with client() as http:
        response = await http.get("/")
        assert (await http.get("/web/events")).status_code == 404
    assert otlp_meta(response.text) == ""
    assert "connect-src 'self';" in response.headers["content-security-policy"]


@pytest.mark.parametrize("bad", ["ftp://x/v1/traces", "/v1/traces", "http://a b", "http://x;y"])
def test_otlp_url_that_is_not_a_web_address_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="otlp_traces_url"):
        web_routes(otlp_traces_url=bad)
