"""The gateway's Starlette application factory."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import ServiceDescriptor
from opentelemetry import metrics, trace
from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound, Route
from starlette.types import Receive, Scope, Send

from onehub.transport.gateway.admission import DEFAULT_MAX_IN_FLIGHT, AdmissionLimit
from onehub.transport.gateway.openapi import openapi_document
from onehub.transport.gateway.routes import bindings_for, body_limit_table
from onehub.transport.gateway.telemetry import RequestDurations
from onehub.transport.gateway.transcoder import Transcoder, Upstream

API_SEGMENT = "api"
OPENAPI_PATH = "/api/openapi.json"
DEFAULT_MAX_BODY_BYTES = 1 << 20
DEFAULT_CALL_TIMEOUT_SECONDS = 30.0


class _GatewayRoute(BaseRoute):
    """Claims every HTTP request whose first path segment is a template root (`v1`) or the
    API prefix (`api`), exact paths included, so the gateway answers them all (404 and 405
    too) and Starlette never redirects them."""

    def __init__(self, transcoder: Transcoder, roots: frozenset[str]) -> None:
        self._transcoder = transcoder
        self._roots = roots

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http":
            first = scope["path"].split("/", 2)[1]
            if first == API_SEGMENT or first in self._roots:
                return Match.FULL, {}
        return Match.NONE, {}

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        drop = 1 if scope["path"].split("/", 2)[1] == API_SEGMENT else 0
        await self._transcoder.serve(scope, receive, send, drop)


def create_gateway_app(
    upstream: Upstream,
    services: Sequence[ServiceDescriptor],
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: Mapping[str, int] | None = None,
    descriptions: Mapping[str, str] | None = None,
    max_request_bytes: int | None = None,
    call_timeout: float = DEFAULT_CALL_TIMEOUT_SECONDS,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    stream_paths: Sequence[str] = (),
    forwarding_token: str | None = None,
) -> Starlette:
    """A Starlette app serving every `google.api.http` binding of `services` on `upstream`:
    a channel to the gRPC server (the network hop), or a `LocalGrpcServer`, whose handlers it
    calls in this process through the same interceptors (docs/api.md, "Gateway dispatch").

    Each template is served bare (`/v1/...`) and under `/api` (`/api/v1/...`); the OpenAPI
    document is at `GET /api/openapi.json`; `extra_routes` come after the API, so they cannot
    shadow it. Every request under the templates' first segments or under `/api` is answered
    by the gateway: a path no template matches is 404, a known path with another method 405,
    both with the error body. Past `max_in_flight` requests in progress (every route counted but
    the long-lived event streams at `stream_paths`, which have a bound of their own), a request
    is answered 503 with `Retry-After` at once. Each RPC call gets `call_timeout`
    seconds; bodies larger than `max_body_bytes` are refused with 413, except on the methods
    `body_limits` names (full method name, `onehub.v1.MessageService.ImportMessages`, to their
    own limit in bytes); `descriptions` (full method name to text) describe operations in the
    OpenAPI document. A request larger than `max_request_bytes` once encoded (the channel's
    send limit) is refused with 413 before it is sent. Spans go to `tracer_provider` and the
    `http.server.request.duration` histogram to `meter_provider` (the global ones when None).
    With `forwarding_token` (the gRPC server's), each call tells the server the HTTP client's
    address, which it throttles failed sign-ins by. Raise ValueError at once when a service's
    http rules cannot be served or `body_limits` names a method that is not served.
    """
    bindings = bindings_for(services)
    limits = body_limit_table(bindings, max_body_bytes, body_limits or {})
    tracer = trace.get_tracer(__name__, tracer_provider=tracer_provider)
    meter = metrics.get_meter(__name__, meter_provider=meter_provider)
    transcoder = Transcoder(
        upstream,
        bindings,
        tracer=tracer,
        durations=RequestDurations(meter),
        body_limits=limits,
        call_timeout=call_timeout,
        forwarding_token=forwarding_token,
        max_request_bytes=max_request_bytes,
    )
    document = json.dumps(
        openapi_document(bindings, body_limits=limits, descriptions=descriptions)
    ).encode()

    async def openapi(_: Request) -> Response:
        return Response(document, media_type="application/json")

    roots = frozenset(b.template.segments[0] for b in bindings)
    routes: list[BaseRoute] = [
        Route(OPENAPI_PATH, openapi, methods=["GET"]),
        _GatewayRoute(transcoder, roots),
        *extra_routes,
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(
                AdmissionLimit, max_in_flight=max_in_flight, stream_paths=frozenset(stream_paths)
            )
        ],
    )
