"""The UI server's ASGI app: the query API under `/jaeger/api` and the viewer under `/jaeger`.

The viewer's static front end is another package (`onehub_collector.web`); it is imported
lazily so the API runs, and says so clearly, while the viewer is absent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from onehub_collector.query.params import ParamError
from onehub_collector.query.responses import envelope_error, v3_error
from onehub_collector.query.routes_extra import extra_routes, load_optional
from onehub_collector.query.routes_jaeger import jaeger_routes
from onehub_collector.query.service import QueryService
from onehub_collector.tail import TailHub

logger = logging.getLogger(__name__)
API_PREFIX = "/jaeger/api"
V3_PREFIX = f"{API_PREFIX}/v3/"
VIEWER_ROUTES_MODULE = "onehub_collector.web.routes"


def _viewer_routes() -> list[BaseRoute]:
    module = load_optional(VIEWER_ROUTES_MODULE)
    if module is not None:
        routes: list[BaseRoute] = module.viewer_routes()
        return routes

    async def missing(request: Request) -> Response:
        return PlainTextResponse(
            "The trace viewer is not installed in this build; the query API is at /jaeger/api.",
            status_code=503,
        )

    return [Route("/jaeger", missing), Route("/jaeger/{rest:path}", missing)]


async def _root(request: Request) -> Response:
    return RedirectResponse("/jaeger")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if request.url.path.startswith(API_PREFIX):
        return envelope_error(exc.status_code, str(exc.detail))
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


async def _bad_parameter(request: Request, exc: Exception) -> Response:
    # Every route lets ParamError out: it is a 400 in its dialect's own error envelope.
    assert isinstance(exc, ParamError)
    if request.url.path.startswith(V3_PREFIX):
        return v3_error(400, str(exc))
    return envelope_error(400, str(exc))


async def _internal_error(request: Request, exc: Exception) -> Response:
    # Logged with its stack here; the client gets the envelope, never the trace.
    logger.error("query API failed on %s", request.url.path, exc_info=exc)
    return envelope_error(500, "internal error in the trace query service")


def ui_app(service: QueryService, tail: TailHub, status: Callable[[], dict[str, Any]]) -> Starlette:
    api = [*jaeger_routes(service), *extra_routes(service, tail, status)]
    routes: list[BaseRoute] = [
        Route("/", _root),
        Mount(API_PREFIX, routes=api),
        *_viewer_routes(),
    ]
    return Starlette(
        routes=routes,
        exception_handlers={
            HTTPException: _http_error,
            ParamError: _bad_parameter,
            Exception: _internal_error,
        },
    )
