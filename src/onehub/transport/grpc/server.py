"""The gRPC server factory: OneHub's three services plus health and reflection."""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from onehub.gen.onehub.v1 import (
    messages_pb2,
    messages_pb2_grpc,
    topics_pb2,
    topics_pb2_grpc,
    users_pb2,
    users_pb2_grpc,
)
from onehub.services.auth import Authenticator
from onehub.services.bundle import Services
from onehub.transport.grpc.admission import PENDING_REQUEST_OPTIONS, AdmissionInterceptor
from onehub.transport.grpc.interceptors import AuthInterceptor, ErrorMappingInterceptor
from onehub.transport.grpc.limits import GRPC_SIZE_OPTIONS
from onehub.transport.grpc.messages import MessageServicer
from onehub.transport.grpc.topics import TopicServicer
from onehub.transport.grpc.users import UserServicer

ONEHUB_SERVICE_NAMES = (
    topics_pb2.DESCRIPTOR.services_by_name["TopicService"].full_name,
    messages_pb2.DESCRIPTOR.services_by_name["MessageService"].full_name,
    users_pb2.DESCRIPTOR.services_by_name["UserService"].full_name,
)


DEFAULT_MAX_IN_FLIGHT = 1000
# Request metadata the server accepts (gRPC's default is 8 KiB, refusing some calls up to 16 KiB
# at random and all beyond, with a message listing the metadata's names and sizes). Credentials
# too long to be right must reach authentication and be refused as such: UNAUTHENTICATED.
MAX_METADATA_BYTES = 64 * 1024
METADATA_SIZE_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_metadata_size", MAX_METADATA_BYTES),
    ("grpc.absolute_max_metadata_size", MAX_METADATA_BYTES),
)


class GrpcBindError(OSError):
    """The gRPC server could not listen on the address it was given."""

    def __init__(self, addr: str) -> None:
        super().__init__(f"cannot start the gRPC server on {addr}: address in use or unavailable")
        self.addr = addr


def onehub_interceptors(
    authenticator: Authenticator,
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    forwarding_token: str | None = None,
) -> list[grpc.aio.ServerInterceptor]:
    """The server's interceptors, outermost first: admission control (past `max_in_flight`
    calls in progress, UNAVAILABLE with a `grpc-retry-pushback-ms` trailer), `interceptors`
    (e.g. telemetry's), error mapping, then authentication, which believes calls carrying
    `forwarding_token` (the gateway's) about their HTTP client's address. Give the same list
    to the server and to an in-process gateway, so that both count against one admission bound.
    """
    return [
        AdmissionInterceptor(max_in_flight),
        *interceptors,
        ErrorMappingInterceptor(),
        AuthInterceptor(authenticator, forwarding_token),
    ]


class _HandlerRecorder:
    """Stands in for a server in the generated `add_..._to_server` functions."""

    def __init__(self) -> None:
        self.handlers: list[grpc.GenericRpcHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, name: str, handlers: object) -> None:
        """The registered fast path of a network server: the generic handlers do for us."""


def onehub_handlers(services: Services) -> list[grpc.GenericRpcHandler]:
    """The handlers of OneHub's three services, as the server registers them."""
    recorder = _HandlerRecorder()
    _add_onehub_services(services, cast("grpc.aio.Server", recorder))
    return recorder.handlers


def _add_onehub_services(services: Services, server: grpc.aio.Server) -> None:
    topics_pb2_grpc.add_TopicServiceServicer_to_server(TopicServicer(services.topics), server)
    messages_pb2_grpc.add_MessageServiceServicer_to_server(
        MessageServicer(services.messages), server
    )
    users_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(services.users), server)


async def start_grpc_server(
    services: Services,
    authenticator: Authenticator,
    addr: str = "127.0.0.1:0",
    interceptors: Sequence[grpc.aio.ServerInterceptor] = (),
    *,
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
    forwarding_token: str | None = None,
    reuse_port: bool = False,
    chain: Sequence[grpc.aio.ServerInterceptor] | None = None,
    private_addr: str | None = None,
) -> tuple[grpc.aio.Server, int]:
    """Start serving OneHub on `addr` ("host:port"; port 0 picks a free one) and return the
    running server and the port it is bound to.

    `interceptors` (e.g. telemetry's) run outermost, before error mapping and authentication;
    only admission control comes before them: past `max_in_flight` calls in progress, a call is
    answered UNAVAILABLE with a `grpc-retry-pushback-ms` trailer. Calls carrying
    `forwarding_token` (the gateway's) are believed about their HTTP client's address. A
    `chain` (from `onehub_interceptors`) replaces those three arguments' interceptors.
    Health (grpc.health.v1, SERVING for "" and each OneHub service) and server reflection need
    no credentials. With `reuse_port`, several processes share `addr` (SO_REUSEPORT: the kernel
    spreads connections over them); without, a port in use is an error. `private_addr` (a gRPC
    target such as "unix-abstract:NAME") is listened on as well: an address only this process
    serves, whatever shares `addr`. Raise GrpcBindError
    naming `addr` if it cannot be bound. Stopping
    (`await server.stop(grace)`) is the caller's.
    """
    if chain is None:
        chain = onehub_interceptors(
            authenticator,
            interceptors,
            max_in_flight=max_in_flight,
            forwarding_token=forwarding_token,
        )
    server = grpc.aio.server(
        interceptors=list(chain),
        # Without so_reuseport 0, Linux lets a second server bind the port and share its traffic:
        # wanted only among OneHub's own workers.
        options=[
            ("grpc.so_reuseport", 1 if reuse_port else 0),
            *GRPC_SIZE_OPTIONS,
            *METADATA_SIZE_OPTIONS,
            *PENDING_REQUEST_OPTIONS,
        ],
    )
    _add_onehub_services(services, server)

    health_servicer = health.aio.HealthServicer()
    for name in ("", *ONEHUB_SERVICE_NAMES):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*ONEHUB_SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME), server
    )

    try:
        port = server.add_insecure_port(addr)
    except RuntimeError as exc:
        await server.stop(None)
        raise GrpcBindError(addr) from exc
    if port == 0:  # older grpcio reported a failed bind this way instead of raising
        await server.stop(None)
        raise GrpcBindError(addr)
    if private_addr is not None:
        try:
            private_port = server.add_insecure_port(private_addr)
        except RuntimeError as exc:
            await server.stop(None)
            raise GrpcBindError(private_addr) from exc
        if private_port == 0:
            await server.stop(None)
            raise GrpcBindError(private_addr)
    await server.start()
    return server, port
