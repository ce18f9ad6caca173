"""Build and start every part of OneHub from one `Settings`, and stop them in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

import grpc
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from onehub.app.embedded_collector import EmbeddedCollector, start_embedded_collector
from onehub.app.web_push import HubPushFeed
from onehub.config import Settings, split_host_port
from onehub.gen.onehub.v1 import messages_pb2, topics_pb2, users_pb2
from onehub.services.auth import build_authenticator
from onehub.services.bundle import build_services
from onehub.services.events import EventHub
from onehub.storage.engine import create_engine
from onehub.storage.errors import StorageConfigError
from onehub.storage.migrate import migrate
from onehub.storage.uow import sql_uow_factory
from onehub.telemetry import (
    Telemetry,
    configure_logging,
    grpc_client_interceptors,
    grpc_server_interceptors,
    instrument_sqlalchemy,
    metrics_asgi_app,
    setup_telemetry,
    telemetry_config_from_env,
)
from onehub.transport.gateway.app import create_gateway_app
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS
from onehub.transport.grpc.server import GrpcBindError, start_grpc_server
from onehub.web.routes import web_routes

log = logging.getLogger(__name__)

SERVICES = (
    topics_pb2.DESCRIPTOR.services_by_name["TopicService"],
    messages_pb2.DESCRIPTOR.services_by_name["MessageService"],
    users_pb2.DESCRIPTOR.services_by_name["UserService"],
)


class StartupError(RuntimeError):
    """OneHub could not start; the message is one line saying what and where."""


@dataclass
class RunningOneHub:
    """A started OneHub. `stop()` drains and releases everything; call it exactly once."""

    settings: Settings
    grpc_port: int
    gateway_port: int
    telemetry: Telemetry
    collector: EmbeddedCollector | None
    _grpc_server: grpc.aio.Server
    _channel: grpc.aio.Channel
    _gateway: uvicorn.Server
    _gateway_task: asyncio.Task[None]
    _engine: AsyncEngine
    _owns_telemetry: bool = True
    _events: EventHub | None = None
    _stopped: bool = field(default=False, init=False)

    @property
    def gateway_url(self) -> str:
        return f"http://{_connect_host(self.settings.gw_addr)}:{self.gateway_port}"

    @property
    def grpc_target(self) -> str:
        return f"{_connect_host(self.settings.addr)}:{self.grpc_port}"

    @property
    def viewer_url(self) -> str | None:
        return self.settings.viewer_url or (self.collector.viewer_url if self.collector else None)

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish within the grace period, flush
        telemetry and release the database. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        grace = self.settings.grace_seconds
        # HTTP first: in-flight REST calls still need the gRPC server behind them. The pages'
        # event streams never end by themselves: end them, so they do not hold up the drain.
        if self._events is not None:
            self._events.close()
        self._gateway.should_exit = True
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._gateway_task), grace + 1)
        await self._grpc_server.stop(grace)
        await self._channel.close(None)
        await self._engine.dispose()
        if self._owns_telemetry:
            await asyncio.to_thread(self.telemetry.shutdown)
        if self.collector is not None:
            await self.collector.stop()


async def start_onehub(
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    telemetry: Telemetry | None = None,
) -> RunningOneHub:
    """Start the database, embedded collector, gRPC server and gateway of `settings`.

    `telemetry`, when given, is used as is and left running on stop (tests pass in-memory
    telemetry); otherwise it is built from `env` (default: os.environ) and `settings.collector`.
    Raise StartupError (one line, what and where) when any part cannot start; whatever had
    already started is stopped again.
    """
    env = os.environ if env is None else env
    owns_telemetry = telemetry is None
    collector: EmbeddedCollector | None = None
    # Each part registers its undo as it starts; if a later part fails, the stack unwinds
    # (in reverse) before the error propagates, leaving no port bound and no child behind.
    async with contextlib.AsyncExitStack() as undo:
        if settings.collector == "embedded":
            collector = await start_embedded_collector(settings)
            undo.push_async_callback(collector.stop)
        if telemetry is None:
            otlp_addr = collector.otlp_grpc_addr if collector else settings.otlp_grpc_addr
            telemetry = _telemetry(settings, env, otlp_addr)
            undo.callback(telemetry.shutdown)
        engine = await _database(settings.db_endpoint)
        undo.push_async_callback(engine.dispose)
        instrument_sqlalchemy([engine])

        uow_factory = sql_uow_factory(engine)
        services = build_services(uow_factory)
        authenticator = build_authenticator(settings.auth, uow_factory)
        try:
            grpc_server, grpc_port = await start_grpc_server(
                services,
                authenticator,
                settings.addr,
                interceptors=grpc_server_interceptors(telemetry),
            )
        except GrpcBindError as error:
            raise StartupError(str(error)) from error
        undo.push_async_callback(grpc_server.stop, None)

        channel = grpc.aio.insecure_channel(
            f"{_connect_host(settings.addr)}:{grpc_port}",
            options=GRPC_SIZE_OPTIONS,
            interceptors=grpc_client_interceptors(telemetry),
        )
        undo.push_async_callback(channel.close, None)
        viewer_url = settings.viewer_url or (collector.viewer_url if collector else None)
        # The page sends its own spans to the embedded collector, whose OTLP/HTTP receiver
        # allows loopback origins by CORS; with any other collector the traces start at the
        # gateway, as they always did.
        otlp_traces_url = _otlp_traces_url(collector.otlp_http_addr) if collector else None
        web = web_routes(
            viewer_url,
            otlp_traces_url=otlp_traces_url,
            push_feed=HubPushFeed(services.events, authenticator),
        )
        app = create_gateway_app(
            channel,
            SERVICES,
            max_body_bytes=settings.max_body_bytes,
            extra_routes=_extra_routes(telemetry, web),
        )
        gateway, gateway_task, gateway_port = await _start_gateway(app, settings)
        running = RunningOneHub(
            settings=settings,
            grpc_port=grpc_port,
            gateway_port=gateway_port,
            telemetry=telemetry,
            collector=collector,
            _grpc_server=grpc_server,
            _channel=channel,
            _gateway=gateway,
            _gateway_task=gateway_task,
            _engine=engine,
            _owns_telemetry=owns_telemetry,
            _events=services.events,
        )
        undo.pop_all()
    return running


def _telemetry(settings: Settings, env: Mapping[str, str], embedded_otlp_addr: str) -> Telemetry:
    collector = None if settings.collector == "env" else settings.collector
    config = telemetry_config_from_env(
        env, collector=collector, embedded_collector=embedded_otlp_addr
    )
    telemetry = setup_telemetry(config)
    configure_logging(telemetry, settings.log_level)
    return telemetry


async def _database(url: str) -> AsyncEngine:
    try:
        engine = create_engine(url)
    except StorageConfigError as error:
        raise StartupError(str(error)) from error
    try:
        await migrate(engine)
    except Exception as error:
        await engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise StartupError(f"cannot open the database {where}: {reason}") from error
    return engine


def _extra_routes(telemetry: Telemetry, web: list[BaseRoute]) -> list[BaseRoute]:
    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return [
        Route("/healthz", healthz, methods=["GET"]),
        # A Route, not a Mount: a Mount would redirect /metrics to /metrics/.
        Route("/metrics", _AsgiEndpoint(metrics_asgi_app(telemetry)), methods=["GET"]),
        *web,
    ]


class _AsgiEndpoint:
    """Lets Starlette's Route serve a plain ASGI callable (it would take a function for a
    request handler)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._app(scope, receive, send)


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: the composition root owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _start_gateway(
    app: Starlette, settings: Settings
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    host, port = split_host_port(settings.gw_addr, "--gw-addr")
    try:
        sock = _listen(host, port)
    except OSError as error:
        raise StartupError(
            f"cannot start the REST gateway on {settings.gw_addr}: {error.strerror or error}"
        ) from error
    config = uvicorn.Config(
        app,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=max(int(settings.grace_seconds), 1),
        server_header=False,
    )
    server = _EmbeddedUvicorn(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="onehub-gateway")
    while not server.started:
        if task.done():
            sock.close()
            task.result()  # re-raise what stopped it
            raise StartupError(f"the REST gateway on {settings.gw_addr} stopped at start")
        await asyncio.sleep(0.01)
    return server, task, sock.getsockname()[1]


def _listen(host: str, port: int) -> socket.socket:
    # Made with IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only
    # for such sockets, and without it small responses wait ~40 ms for delayed ACKs.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def _otlp_traces_url(otlp_http_addr: str) -> str:
    _, port = split_host_port(otlp_http_addr)
    return f"http://{_connect_host(otlp_http_addr)}:{port}/v1/traces"


def _connect_host(addr: str) -> str:
    """The host a local client dials for a server bound to `addr` (wildcards become loopback)."""
    host, _ = split_host_port(addr)
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host
