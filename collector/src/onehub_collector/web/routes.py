"""HTTP routes of the trace viewer: the single-page app shell and its static files.

The query API under /jaeger/api belongs to the collector; these routes only serve the page that
calls it. Every view's URL returns the same shell, so deep links work on load.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from onehub_collector.web.assets import SHELL_TEMPLATE, AssetCatalog, load_assets

VIEWER_BASE = "/jaeger"
API_BASE = "/jaeger/api"
STATIC_BASE = "/jaeger/static"
# URLs carrying the current asset version never change content, so browsers may keep them.
_IMMUTABLE = "public, max-age=31536000, immutable"
_REVALIDATE = "no-cache"
_VERSION_LENGTH = 12
# The shell loads only same-origin files; styles set from script go through CSSOM, which
# style-src does not restrict, so no 'unsafe-inline' is needed.
_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_SHELL_PATHS = (
    VIEWER_BASE,
    f"{VIEWER_BASE}/",
    f"{VIEWER_BASE}/search",
    f"{VIEWER_BASE}/trace/{{trace_id}}",
    f"{VIEWER_BASE}/live",
    f"{VIEWER_BASE}/services",
    f"{VIEWER_BASE}/dependencies",
    f"{VIEWER_BASE}/monitor",
)


def render_shell(catalog: AssetCatalog) -> str:
    """The app shell HTML, pointing at this catalog's versioned asset URLs."""
    return (
        catalog.text(SHELL_TEMPLATE)
        .replace("__STATIC__", f"{STATIC_BASE}/{catalog.version}")
        .replace("__API__", API_BASE)
        .replace("__BASE__", VIEWER_BASE)
    )


def _split_version(path: str) -> tuple[str | None, str]:
    head, _, rest = path.partition("/")
    is_version = len(head) == _VERSION_LENGTH and all(c in "0123456789abcdef" for c in head)
    return (head, rest) if is_version and rest else (None, path)


def viewer_routes() -> list[BaseRoute]:
    """Routes for the viewer at /jaeger: the shell on every view URL, assets under /jaeger/static.

    Assets are read from the package once, here; a missing or malformed asset raises AssetError
    at start-up rather than on a request. An unknown asset path is a 404.
    """
    catalog = load_assets()
    shell = render_shell(catalog)
    shell_headers = {
        "Cache-Control": _REVALIDATE,
        "Content-Security-Policy": _CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }

    async def app_shell(request: Request) -> Response:
        return HTMLResponse(shell, headers=shell_headers)

    async def static_asset(request: Request) -> Response:
        version, path = _split_version(request.path_params["path"])
        asset = catalog.assets.get(path)
        if asset is None or path == SHELL_TEMPLATE:
            return PlainTextResponse(f"No viewer asset at {path!r}", status_code=404)
        headers = {
            "ETag": asset.etag,
            "Cache-Control": _IMMUTABLE if version == catalog.version else _REVALIDATE,
            "X-Content-Type-Options": "nosniff",
        }
        if request.headers.get("if-none-match") == asset.etag:
            return Response(status_code=304, headers=headers)
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    routes: list[BaseRoute] = [Route(path, app_shell, methods=["GET"]) for path in _SHELL_PATHS]
    routes.append(Route(f"{STATIC_BASE}/{{path:path}}", static_asset, methods=["GET"]))
    return routes
