"""Routes that serve the chat web front end: the page at `/` and its files under `/static/`.

The page is a hand-written ES-module app (no build step; the OpenTelemetry web SDK comes as one
committed bundle, see scripts/build_web_otel.sh) that calls the REST API under `/api/v1` with
HTTP Basic credentials the user types in, and hears of new messages on `/web/events`
(`onehub.web.push`). Two `<meta>` tags filled in here tell it where the trace viewer is (each
action links to its trace) and where to send its own spans (OTLP/HTTP; empty: no tracing in
the browser).
"""

from __future__ import annotations

import html
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from onehub.web.push import PushFeed, push_routes

STATIC_DIR = Path(__file__).parent / "static"
# The DOM builder both pages use, one file: the trace viewer's, served here too at
# /static/js/h.js so the chat page and the viewer cannot drift apart. A data file of the
# onehub-collector distribution (a dependency), found through importlib.resources; of the
# collector's Python only its package's __init__ runs, which loads nothing else.
SHARED_H_MODULE: Traversable = resources.files("onehub_collector") / "web/static/js/h.js"
# The page carries this exact tag; `web_routes` fills in its content.
VIEWER_META = '<meta name="onehub-trace-viewer" content="">'
OTLP_META = '<meta name="onehub-otlp-traces" content="">'

# The page loads only its own files and talks only to its own origin, and to the OTLP/HTTP
# receiver its spans go to; links to the trace viewer are navigations, which need no
# permission here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # The page is tiny and names the viewer URL of this very server: always revalidate.
    "Cache-Control": "no-cache",
}


def web_routes(
    viewer_url: str | None = None,
    *,
    otlp_traces_url: str | None = None,
    push_feed: PushFeed | None = None,
) -> list[BaseRoute]:
    """Return the routes serving the web front end at `/` and its assets at `/static/...`,
    and its event stream at `/web/events` when a `push_feed` is given.

    `viewer_url` is the trace viewer's base URL, e.g. "http://localhost:16686/jaeger" or "/jaeger"
    behind a proxy; each action links to `<viewer_url>/trace/<trace id>`. With None the page
    assumes the viewer on port 16686 of the host it was loaded from, under /jaeger.
    `otlp_traces_url` is where the page sends its spans (an OTLP/HTTP `/v1/traces` URL whose
    receiver allows the page's origin by CORS); None leaves tracing in the browser off, and
    the traces then start at the gateway.
    Raise ValueError if `viewer_url` is neither an http(s) URL nor a path starting with "/", or
    `otlp_traces_url` is not an http(s) URL.
    """
    page = render_page(viewer_url, otlp_traces_url)
    headers = dict(PAGE_HEADERS)
    if otlp_traces_url is not None:
        parts = urlsplit(otlp_traces_url)
        headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
            "connect-src 'self'", f"connect-src 'self' {parts.scheme}://{parts.netloc}"
        )

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=headers)

    shared_h = SHARED_H_MODULE.read_bytes()

    async def h_module(request: Request) -> Response:
        return Response(shared_h, media_type="text/javascript; charset=utf-8")

    routes: list[BaseRoute] = [
        Route("/", index, methods=["GET", "HEAD"], name="web_index"),
        Route("/static/js/h.js", h_module, methods=["GET", "HEAD"], name="web_h_module"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="web_static"),
    ]
    if push_feed is not None:
        routes += push_routes(push_feed)
    return routes


def render_page(viewer_url: str | None, otlp_traces_url: str | None = None) -> str:
    """The index page with the viewer and OTLP URLs in its meta tags (escaped; validated as in
    web_routes)."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    for tag in (VIEWER_META, OTLP_META):
        if tag not in template:
            raise RuntimeError(f"{STATIC_DIR / 'index.html'} lost its {tag} tag")
    viewer = "" if viewer_url is None else html.escape(_checked_viewer_url(viewer_url))
    otlp = "" if otlp_traces_url is None else html.escape(_checked_otlp_url(otlp_traces_url))
    return template.replace(
        VIEWER_META, VIEWER_META.replace('content=""', f'content="{viewer}"')
    ).replace(OTLP_META, OTLP_META.replace('content=""', f'content="{otlp}"'))


def _checked_otlp_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c in url for c in " ;"):
        raise ValueError(f"otlp_traces_url must be an http(s) URL, not {url!r}")
    return url


def _checked_viewer_url(viewer_url: str) -> str:
    parts = urlsplit(viewer_url)
    is_path = viewer_url.startswith("/") and not viewer_url.startswith("//")
    is_web_url = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not (is_path or is_web_url):
        raise ValueError(
            f"viewer_url must be an http(s) URL or a path starting with '/', not {viewer_url!r}"
        )
    return viewer_url.rstrip("/")
