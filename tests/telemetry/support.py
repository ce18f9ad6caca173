"""A tiny UserService and a real grpc.aio server on port 0, with our interceptors."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import grpc
import grpc.aio
from opentelemetry import baggage, trace
from opentelemetry.sdk.trace import ReadableSpan

from onehub.gen.onehub.v1 import models_pb2, users_pb2, users_pb2_grpc
from onehub.telemetry import grpc_client_interceptors, grpc_server_interceptors
from onehub.telemetry.testing import InMemoryTelemetry

log = logging.getLogger("onehub.tests.users")


class UserServicer(users_pb2_grpc.UserServiceServicer):
    """GetUser's id picks the outcome: `missing` aborts NOT_FOUND, `internal` aborts INTERNAL,
    `crash` raises; anything else succeeds inside an INTERNAL `GetUser` span that logs a line and
    notes the `tenant` baggage it received."""

    async def GetUser(
        self, request: users_pb2.GetUserRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> users_pb2.GetUserResponse:
        if request.id == "missing":
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such user")
        if request.id == "internal":
            await context.abort(grpc.StatusCode.INTERNAL, "broken")
        if request.id == "crash":
            raise RuntimeError("servicer bug")
        with trace.get_tracer("onehub.tests").start_as_current_span("GetUser") as span:
            span.set_attribute("seen.tenant", str(baggage.get_baggage("tenant")))
            log.info("found user %s", request.id)
        return users_pb2.GetUserResponse(user=models_pb2.User(id=request.id, name="Ada"))


@dataclass
class UserServer:
    port: int
    stub: users_pb2_grpc.UserServiceAsyncStub


async def start_user_server(
    client_interceptors: bool = True,
) -> tuple[grpc.aio.Server, grpc.aio.Channel, int]:
    server = grpc.aio.server(interceptors=grpc_server_interceptors())
    # Only GetUser is served; the base class answers UNIMPLEMENTED for the rest.
    servicer = UserServicer()  # type: ignore[abstract]
    users_pb2_grpc.add_UserServiceServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    interceptors = grpc_client_interceptors() if client_interceptors else None
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=interceptors)
    return server, channel, port


async def finished_spans(memory: InMemoryTelemetry, count: int) -> list[ReadableSpan]:
    """The finished spans once there are `count` of them (or after 2 s, whatever there is).

    An aborted call's status reaches the client before the server interceptor ends its span,
    so a test that reads spans right after a failed call must wait for the server's.
    """

    def poll() -> list[ReadableSpan]:
        deadline = time.monotonic() + 2.0
        while len(memory.spans()) < count and time.monotonic() < deadline:
            time.sleep(0.005)
        return list(memory.spans())

    return await asyncio.to_thread(poll)
