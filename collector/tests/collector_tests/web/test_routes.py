"""The viewer's HTTP surface: the app shell on every view URL, and its static files."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from onehub_collector.web import viewer_routes
from onehub_collector.web.assets import load_assets

VERSION = load_assets().version


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=Starlette(routes=viewer_routes()))
    async with httpx.AsyncClient(transport=transport, base_url="http://viewer") as test_client:
        yield test_client


@pytest.mark.parametrize(
    "url",
    [
        "/jaeger",
        "/jaeger/",
        "/jaeger/search?service=onehub.backend&operation=ListTopics&tags=%7B%22error%22%3A%22true%22%7D&lookback=1h",
        "/jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736",
        "/jaeger/trace/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7",
        "/jaeger/live",
        "/jaeger/services?service=onehub.backend",
        "/jaeger/dependencies",
    ],
)
async def test_every_view_url_returns_the_app_shell(client: httpx.AsyncClient, url: str) -> None:
    response = await client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["cache-control"] == "no-cache"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert '<main id="app"' in response.text
    assert f'src="/jaeger/static/{VERSION}/js/main.js"' in response.text
    assert 'data-api="/jaeger/api"' in response.text


async def test_shell_answers_head_requests(client: httpx.AsyncClient) -> None:
    response = await client.head("/jaeger/search")
    assert response.status_code == 200
    assert response.content == b""


async def test_assets_the_shell_names_are_served_and_cacheable_forever(
    client: httpx.AsyncClient,
) -> None:
    shell = (await client.get("/jaeger")).text
    urls = re.findall(r'(?:src|href)="(/jaeger/static/[^"]+)"', shell)
    assert len(urls) == 2
    for url in urls:
        response = await client.get(url)
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["x-content-type-options"] == "nosniff"
    css = await client.get(f"/jaeger/static/{VERSION}/viewer.css")
    assert css.headers["content-type"] == "text/css; charset=utf-8"


async def test_every_module_reachable_from_the_entry_point_is_served(
    client: httpx.AsyncClient,
) -> None:
    # The browser resolves "./x.js" against the importing module's versioned URL.
    pending, seen = ["main.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        response = await client.get(f"/jaeger/static/{VERSION}/js/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == "text/javascript; charset=utf-8"
        imports = re.findall(r'^import .* from "\./([\w-]+\.js)";$', response.text, re.MULTILINE)
        pending += [i for i in imports if i not in seen]
    assert {"timeline.js", "model.js", "search.js", "live.js", "services.js"} <= seen


async def test_unversioned_assets_revalidate_with_their_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/jaeger/static/js/timeline.js")
    assert first.status_code == 200
    assert first.headers["cache-control"] == "no-cache"
    again = await client.get(
        "/jaeger/static/js/timeline.js", headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_an_old_version_gets_current_content_but_no_long_cache(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/jaeger/static/0123456789ab/viewer.css")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert response.content == (await client.get(f"/jaeger/static/{VERSION}/viewer.css")).content


@pytest.mark.parametrize(
    "path",
    [
        "/jaeger/static/js/nope.js",
        "/jaeger/static/%2e%2e/routes.py",
        "/jaeger/static/js/%2e%2e/%2e%2e/__init__.py",
        "/jaeger/static/index.html",
        f"/jaeger/static/{VERSION}/",
    ],
)
async def test_unknown_assets_are_404_not_files_from_elsewhere(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)
    assert response.status_code == 404
    assert "No viewer asset" in response.text


async def test_the_query_api_paths_are_not_answered_with_the_shell(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/jaeger/api/services")).status_code == 404
    assert (await client.get("/jaeger/api/traces/abc")).status_code == 404
