"""The gateway's Starlette application factory."""

from __future__ import annotations

import json
from collections.abc import Sequence

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry import trace
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import Receive, Scope, Send

from onehub.transport.gateway.openapi import openapi_document
from onehub.transport.gateway.routes import bindings_for
from onehub.transport.gateway.transcoder import Transcoder

API_PREFIX = "/api"
OPENAPI_PATH = "/api/openapi.json"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_CALL_TIMEOUT_SECONDS = 30.0


class _Endpoint:
    """Hands a mounted request to the transcoder, dropping the prefix's segments."""

    def __init__(self, transcoder: Transcoder, drop_segments: int) -> None:
        self._transcoder = transcoder
        self._drop_segments = drop_segments

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # Mount also routes websockets; the gateway has none to offer
        await self._transcoder.serve(scope, receive, send, self._drop_segments)


def create_gateway_app(
    channel: grpc.aio.Channel,
    services: Sequence[ServiceDescriptor],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
    tracer_provider: trace.TracerProvider | None = None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """A Starlette app serving every `google.api.http` binding of `services` over `channel`.

    Each template is served bare (`/v1/...`) and under `/api` (`/api/v1/...`); the OpenAPI
    document is at `GET /api/openapi.json`; `extra_routes` come after the API, so they cannot
    shadow it. Every request under the templates' first segments or under `/api` is answered
    by the gateway: a path no template matches is 404, a known path with another method 405,
    both with the error body. Each RPC call gets `call_timeout` seconds; bodies larger than
    `max_body_bytes` are refused with 413. Spans go to `tracer_provider` (the global one when
    None). Raise ValueError at once when a service's http rules cannot be served.
    """
    bindings = bindings_for(services)
    tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    transcoder = Transcoder(
        channel,
        bindings,
        tracer=tracer,
        max_body_bytes=max_body_bytes,
        call_timeout=call_timeout,
    )
    document = json.dumps(openapi_document(bindings)).encode()

    async def openapi(_: Request) -> Response:
        return Response(document, media_type="application/json")

    roots = sorted({b.template.segments[0] for b in bindings if b.template.segments})
    routes: list[BaseRoute] = [Route(OPENAPI_PATH, openapi, methods=["GET"])]
    routes.extend(Mount(f"/{root}", app=_Endpoint(transcoder, 0)) for root in roots)
    routes.append(Mount(API_PREFIX, app=_Endpoint(transcoder, 1)))
    routes.extend(extra_routes)
    return Starlette(routes=routes)
