"""Routes that serve the chat web front end: the page at `/` and its files under `/static/`.

The page is a hand-written ES-module app (no build step) that calls the REST API under `/api/v1`
with HTTP Basic credentials the user types in. Failed calls link to their trace in the trace
viewer, whose base URL the page reads from a `<meta>` tag filled in here.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
# The page carries this exact tag; `web_routes` fills in its content.
VIEWER_META = '<meta name="onehub-trace-viewer" content="">'

# The page loads only its own files and talks only to its own origin; links to the trace viewer
# are navigations, which need no permission here.
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


def web_routes(viewer_url: str | None = None) -> list[BaseRoute]:
    """Return the routes serving the web front end at `/` and its assets at `/static/...`.

    `viewer_url` is the trace viewer's base URL, e.g. "http://localhost:16686/jaeger" or "/jaeger"
    behind a proxy; a failed call links to `<viewer_url>/trace/<trace id>`. With None the page
    assumes the viewer on port 16686 of the host it was loaded from, under /jaeger.
    Raise ValueError if `viewer_url` is neither an http(s) URL nor a path starting with "/".
    """
    page = render_page(viewer_url)

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    return [
        Route("/", index, methods=["GET", "HEAD"], name="web_index"),
        Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="web_static"),
    ]


def render_page(viewer_url: str | None) -> str:
    """The index page with the viewer URL in its meta tag (escaped; validated as in web_routes)."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    if VIEWER_META not in template:
        raise RuntimeError(f"{STATIC_DIR / 'index.html'} lost its {VIEWER_META} tag")
    content = "" if viewer_url is None else html.escape(_checked_viewer_url(viewer_url))
    return template.replace(VIEWER_META, VIEWER_META.replace('content=""', f'content="{content}"'))


def _checked_viewer_url(viewer_url: str) -> str:
    parts = urlsplit(viewer_url)
    is_path = viewer_url.startswith("/") and not viewer_url.startswith("//")
    is_web_url = parts.scheme in ("http", "https") and bool(parts.netloc)
    if not (is_path or is_web_url):
        raise ValueError(
            f"viewer_url must be an http(s) URL or a path starting with '/', not {viewer_url!r}"
        )
    return viewer_url.rstrip("/")
