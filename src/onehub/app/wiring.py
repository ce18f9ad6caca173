"""Build and start every part of OneHub from one `Settings`, and stop them in order."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import sys
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import grpc
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from onehub.app.embedded_collector import (
    CollectorAddresses,
    EmbeddedCollector,
    start_embedded_collector,
)
from onehub.app.web_push import HubPushFeed
from onehub.app.worker_spec import SERVICE_INSTANCE_ID, WorkerSpec
from onehub.config import ConfigError, Settings, StartupError, split_host_port
from onehub.domain.errors import InvalidArgument
from onehub.gen.onehub.v1 import messages_pb2, topics_pb2, users_pb2
from onehub.services.auth import build_authenticator
from onehub.services.bundle import build_services
from onehub.services.events import EventHub
from onehub.services.faults import FaultSwitchboard
from onehub.services.ids import MAX_IMPORT_BATCH_SIZE
from onehub.storage.engine import create_engine
from onehub.storage.errors import StorageConfigError
from onehub.storage.migrate import migrate
from onehub.storage.secrets import load_secret
from onehub.storage.uow import sql_uow_factory
from onehub.telemetry import (
    Telemetry,
    TelemetryConfig,
    TelemetryConfigError,
    configure_logging,
    grpc_client_interceptors,
    grpc_server_interceptors,
    instrument_sqlalchemy,
    metrics_asgi_app,
    setup_telemetry,
    telemetry_config_from_env,
)
from onehub.transport.downstream import HttpDependency, SlowDownstream
from onehub.transport.gateway.app import create_gateway_app
from onehub.transport.gateway.faults import fault_routes
from onehub.transport.gateway.local_server import LocalGrpcServer
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS, MAX_GRPC_MESSAGE_BYTES
from onehub.transport.grpc.server import (
    GrpcBindError,
    onehub_handlers,
    onehub_interceptors,
    start_grpc_server,
)
from onehub.web.push import EVENTS_PATH
from onehub.web.routes import web_routes
from onehub_collector.config import CollectorStartError
from onehub_collector.host_check import with_host_check
from onehub_collector.servers import HttpServer, listen_socket

log = logging.getLogger(__name__)

FORWARDED_ALLOW_IPS = "FORWARDED_ALLOW_IPS"

SERVICES = (
    topics_pb2.DESCRIPTOR.services_by_name["TopicService"],
    messages_pb2.DESCRIPTOR.services_by_name["MessageService"],
    users_pb2.DESCRIPTOR.services_by_name["UserService"],
)

# Bulk import takes what a bulk loader sends (batches of 5,000+ messages, 2-3 MB)
# with room to spare; every other route keeps the tight --max-body-bytes.
IMPORT_METHOD = "onehub.v1.MessageService.ImportMessages"
IMPORT_MAX_BODY_BYTES = 16 << 20
BULK_DESCRIPTIONS = {
    IMPORT_METHOD: (
        f"Admin only. Stores up to {MAX_IMPORT_BATCH_SIZE} messages at once, all or none "
        f"(a bad one is a 400 naming its index, `messages[i]`), in a body of at most "
        f"{IMPORT_MAX_BODY_BYTES >> 20} MiB."
    )
}


def _bulk_body_limits(settings: Settings) -> dict[str, int]:
    return {IMPORT_METHOD: max(IMPORT_MAX_BODY_BYTES, settings.max_body_bytes)}


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
    _gateway: HttpServer
    _engine: AsyncEngine
    faults: FaultSwitchboard = field(default_factory=FaultSwitchboard)
    _last_stops: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    _owns_telemetry: bool = True
    _events: EventHub | None = None
    _stopped: bool = field(default=False, init=False)
    # Set when running as one of several workers (app/workers.py).
    instance_id: str | None = None
    metrics_port: int | None = None

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
        await self._gateway.stop(grace + 1)
        await self._grpc_server.stop(grace)
        await self._channel.close(None)
        await self._engine.dispose()
        for last_stop in self._last_stops:
            await last_stop()
        if self._owns_telemetry:
            await asyncio.to_thread(self.telemetry.shutdown)
        if self.collector is not None:
            await self.collector.stop()


def _private_grpc_addr(worker: WorkerSpec | None) -> str | None:
    """Where a worker's gateway reaches its own gRPC server: through the shared port, the
    kernel would hand its channel to any worker, so a request would cross processes (its trace
    too) and the gateway's forwarding token would not be believed there. An abstract Unix
    socket named after the worker's instance (Linux; no file to clean up) is this worker's
    alone. None for a single process, or where abstract sockets do not exist."""
    if worker is None or not sys.platform.startswith("linux"):
        return None
    return f"unix-abstract:onehub-grpc-{worker.instance_id}"


async def start_onehub(
    settings: Settings,
    *,
    env: Mapping[str, str] | None = None,
    telemetry: Telemetry | None = None,
    worker: WorkerSpec | None = None,
) -> RunningOneHub:
    """Start the database, embedded collector, gRPC server and gateway of `settings`.

    `telemetry`, when given, is used as is and left running on stop (tests pass in-memory
    telemetry); otherwise it is built from `env` (default: os.environ) and `settings.collector`.
    Raise ConfigError (a setting or variable that makes no sense) or StartupError (a part that
    cannot start), one line naming the culprit; whatever had already started is stopped again.
    The cheap checks come first: variables, then our own ports, then the collector, then the
    database, so a mistake is reported before anything slow or noisy runs.

    As a `worker` (of `onehub serve --workers N`) it shares the ports with its siblings, exports
    to the supervisor's collector instead of starting one, labels its telemetry with its
    instance id and also serves /metrics on a port of its own (`metrics_port`).
    """
    env = os.environ if env is None else env
    owns_telemetry = telemetry is None
    shared = worker.collector if worker is not None else None
    addresses = (
        CollectorAddresses.of(settings)
        if settings.collector == "embedded" and worker is None
        else None
    )
    otlp = shared or addresses
    otlp_addr = otlp.otlp_grpc if otlp else settings.otlp_grpc_addr
    instance_id = worker.instance_id if worker is not None else None
    telemetry_config = (
        _telemetry_config(settings, env, otlp_addr, instance_id) if owns_telemetry else None
    )
    collector: EmbeddedCollector | None = None
    # Each part registers its undo as it starts; if a later part fails, the stack unwinds
    # (in reverse) before the error propagates, leaving no port bound and no child behind.
    async with contextlib.AsyncExitStack() as undo:
        gateway_sock = _gateway_socket(settings, reuse_port=worker is not None)
        undo.callback(gateway_sock.close)
        # After the gateway's bind, so the two given the same port is also our own line. A
        # worker's supervisor has checked (and holds) both ports.
        if worker is None:
            _check_grpc_port(settings.addr)
        # A fault naming an RPC that does not exist is a mistake to report before the
        # collector and the database start.
        faults, last_stops = await _fault_switchboard(settings)
        for last_stop in reversed(last_stops):
            undo.push_async_callback(last_stop)
        if addresses is not None:
            collector = await start_embedded_collector(settings, addresses)
            undo.push_async_callback(collector.stop)
        if telemetry_config is not None:
            telemetry = setup_telemetry(telemetry_config)
            configure_logging(telemetry, settings.log_level)
            undo.callback(telemetry.shutdown)
        assert telemetry is not None
        engine = await open_database(settings.db_endpoint, settings.workers)
        undo.push_async_callback(engine.dispose)
        # Read before the engine is instrumented: start-up work is not a request to trace.
        page_key_secret = await load_secret(engine)
        if not telemetry.disabled:
            # Disabled, every span and record would be a no-op: the hooks would only cost.
            instrument_sqlalchemy([engine])

        uow_factory = sql_uow_factory(engine, faults=faults)
        # One secret per database: every replica signs and accepts the same page keys.
        services = build_services(uow_factory, page_key_secret=page_key_secret, faults=faults)
        authenticator = build_authenticator(settings.auth, uow_factory)
        # Lets the gRPC server believe the gateway (and only it) about HTTP clients' addresses,
        # which only password mode's sign-in throttling needs.
        forwarding_token = secrets.token_urlsafe(32) if settings.auth == "password" else None
        chain = onehub_interceptors(
            authenticator,
            grpc_server_interceptors(telemetry),
            max_in_flight=settings.max_in_flight,
            forwarding_token=forwarding_token,
        )
        private_addr = _private_grpc_addr(worker)
        try:
            grpc_server, grpc_port = await start_grpc_server(
                services,
                authenticator,
                settings.addr,
                chain=chain,
                reuse_port=worker is not None,
                private_addr=private_addr,
            )
        except GrpcBindError as error:
            raise StartupError(str(error)) from error
        undo.push_async_callback(grpc_server.stop, None)

        channel = grpc.aio.insecure_channel(
            private_addr or f"{_connect_host(settings.addr)}:{grpc_port}",
            options=GRPC_SIZE_OPTIONS,
            interceptors=grpc_client_interceptors(telemetry),
        )
        undo.push_async_callback(channel.close, None)
        viewer_url = settings.viewer_url or (collector.viewer_url if collector else None)
        # The page sends its own spans to the embedded collector, whose OTLP/HTTP receiver
        # allows loopback origins by CORS; with any other collector the traces start at the
        # gateway, as they always did.
        otlp_http = collector.otlp_http_addr if collector else shared.otlp_http if shared else None
        otlp_traces_url = _otlp_traces_url(otlp_http) if otlp_http else None
        web = web_routes(
            viewer_url,
            otlp_traces_url=otlp_traces_url,
            push_feed=HubPushFeed(services.events, authenticator),
        )
        # In-process, the gateway calls the same handlers through the same interceptor instances
        # (one admission bound for both paths); the channel stays for stop()'s sake.
        upstream: grpc.aio.Channel | LocalGrpcServer = (
            LocalGrpcServer(onehub_handlers(services), chain)
            if settings.gateway_dispatch == "in-process"
            else channel
        )
        app = create_gateway_app(
            upstream,
            SERVICES,
            max_body_bytes=settings.max_body_bytes,
            body_limits=_bulk_body_limits(settings),
            descriptions=BULK_DESCRIPTIONS,
            max_request_bytes=MAX_GRPC_MESSAGE_BYTES,
            extra_routes=[
                *fault_routes(faults, authenticator),
                *_extra_routes(telemetry, web, instance_id),
            ],
            max_in_flight=settings.max_in_flight,
            stream_paths=[EVENTS_PATH],
            forwarding_token=forwarding_token,
        )
        gw_host, _ = split_host_port(settings.gw_addr, "--gw-addr")
        checked = with_host_check(app, gw_host, settings.allowed_hosts)
        gateway = await _start_gateway(checked, settings, gateway_sock)
        undo.push_async_callback(gateway.stop, 5)
        metrics_port = None
        if worker is not None:
            metrics_port, stop_metrics = await _start_metrics_server(telemetry, settings, gw_host)
            last_stops.insert(0, stop_metrics)
            undo.push_async_callback(stop_metrics)
        running = RunningOneHub(
            settings=settings,
            grpc_port=grpc_port,
            gateway_port=gateway.port,
            telemetry=telemetry,
            collector=collector,
            _grpc_server=grpc_server,
            _channel=channel,
            _gateway=gateway,
            _engine=engine,
            faults=faults,
            _last_stops=last_stops,
            _owns_telemetry=owns_telemetry,
            _events=services.events,
            instance_id=instance_id,
            metrics_port=metrics_port,
        )
        undo.pop_all()
    return running


async def _fault_switchboard(
    settings: Settings,
) -> tuple[FaultSwitchboard, list[Callable[[], Awaitable[None]]]]:
    """The switchboard with `settings.faults` on, and what to stop, in order, when done.

    Where faults are allowed, the slow-downstream fault's dependency (a slow HTTP server on
    loopback) runs too, so the fault can be switched on at run time.
    """
    known_rpcs = {method.name for service in SERVICES for method in service.methods}
    if not settings.faults_allowed:
        return FaultSwitchboard(known_rpcs=known_rpcs, switchable=False), []
    downstream = SlowDownstream()
    await downstream.start()
    dependency = HttpDependency(downstream.port)
    stops: list[Callable[[], Awaitable[None]]] = [dependency.aclose, downstream.stop]
    try:
        switchboard = FaultSwitchboard(
            settings.faults, known_rpcs=known_rpcs, dependency=dependency
        )
    except InvalidArgument as error:
        for stop in stops:
            await stop()
        raise StartupError(f"--fault: {error.message}") from None
    return switchboard, stops


def _telemetry_config(
    settings: Settings, env: Mapping[str, str], embedded_otlp_addr: str, instance_id: str | None
) -> TelemetryConfig:
    collector = None if settings.collector == "env" else settings.collector
    try:
        config = telemetry_config_from_env(
            env, collector=collector, embedded_collector=embedded_otlp_addr
        )
    except TelemetryConfigError as error:
        raise ConfigError(str(error)) from None
    if instance_id is None:
        return config
    attributes = {**config.resource_attributes, SERVICE_INSTANCE_ID: instance_id}
    return dataclasses.replace(config, resource_attributes=attributes)


def _check_grpc_port(addr: str) -> None:
    """Fail with our own line if the gRPC address is taken: grpc's failed bind is preceded by
    a C-core log line on stderr that we cannot suppress once grpc is loaded."""
    host, port = split_host_port(addr, "--addr")
    if port == 0:
        return
    try:
        listen_socket(host, port).close()
    except OSError as error:
        raise StartupError(
            f"cannot start the gRPC server on {addr}: {error.strerror or error}"
        ) from None


async def open_database(url: str, workers: int = 1) -> AsyncEngine:
    try:
        engine = create_engine(url, workers=workers)
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


def _extra_routes(
    telemetry: Telemetry, web: list[BaseRoute], instance_id: str | None = None
) -> list[BaseRoute]:
    # A worker says which one answered: the ports are shared, so a client cannot tell otherwise.
    status: dict[str, object] = {"status": "ok"}
    if instance_id is not None:
        status |= {"instance": instance_id, "pid": os.getpid()}

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse(status)

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


def _gateway_socket(settings: Settings, *, reuse_port: bool = False) -> socket.socket:
    host, port = split_host_port(settings.gw_addr, "--gw-addr")
    try:
        return listen_socket(host, port, reuse_port=reuse_port)
    except OSError as error:
        raise StartupError(
            f"cannot start the REST gateway on {settings.gw_addr}: {error.strerror or error}"
        ) from None


async def _start_gateway(app: ASGIApp, settings: Settings, sock: socket.socket) -> HttpServer:
    gateway = HttpServer(
        app,
        sock,
        "the REST gateway",
        graceful_shutdown_s=max(int(settings.grace_seconds), 1),
        # The client address (which failed sign-ins are throttled by) is the connection's peer;
        # X-Forwarded-For is believed only from the proxies an operator names in uvicorn's
        # FORWARDED_ALLOW_IPS (uvicorn would otherwise believe any local process).
        proxy_headers=FORWARDED_ALLOW_IPS in os.environ,
    )
    try:
        await gateway.start()
    except CollectorStartError:
        raise StartupError(f"the REST gateway on {settings.gw_addr} stopped at start") from None
    return gateway


async def _start_metrics_server(
    telemetry: Telemetry, settings: Settings, host: str
) -> tuple[int, Callable[[], Awaitable[None]]]:
    """A worker's own /metrics, on a free port of the gateway's host: a scrape of the shared
    gateway port reaches one worker at random, this one always the same."""
    try:
        sock = listen_socket(host, 0)
    except OSError as error:
        raise StartupError(f"cannot start a worker's metrics server on {host}: {error}") from None
    app = with_host_check(
        Starlette(routes=[Route("/metrics", _AsgiEndpoint(metrics_asgi_app(telemetry)))]),
        host,
        settings.allowed_hosts,
    )
    try:
        server = await _start_gateway(app, settings, sock)
    except BaseException:
        sock.close()
        raise

    async def stop() -> None:
        await server.stop(5)

    return server.port, stop


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
