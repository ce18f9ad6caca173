"""Tripwires for grpc.aio's private part (onehub/transport/gateway/grpc_aio_compat.py): the
gateway's calls really leave the channel's tracing interceptor out, and the CLIENT span the
interceptor would have made is still there, made by the gateway, its context on the wire."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import grpc
import grpc.aio
import httpx
import pytest
from opentelemetry.trace import SpanKind

from onehub.gen.onehub.v1 import users_pb2, users_pb2_grpc
from onehub.telemetry import grpc_server_interceptors
from onehub.telemetry.rpc import TracingClientInterceptor
from onehub.telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from onehub.transport.gateway import create_gateway_app
from onehub.transport.gateway.grpc_aio_compat import client_interceptors
from tests.telemetry.support import UserServicer, finished_spans

from .tripwire import check

GRPC = "grpcio"
COMPAT = "onehub/transport/gateway/grpc_aio_compat.py"
GET_USER = "onehub.v1.UserService/GetUser"


class CountingTracingInterceptor(TracingClientInterceptor):
    """The channel's tracing interceptor, counting the calls that went through it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    async def intercept_unary_unary(
        self,
        continuation: Callable[[grpc.aio.ClientCallDetails, Any], Awaitable[Any]],
        client_call_details: grpc.aio.ClientCallDetails,
        request: Any,
    ) -> Any:
        self.calls += 1
        return await super().intercept_unary_unary(continuation, client_call_details, request)


@dataclass
class Setup:
    memory: InMemoryTelemetry
    interceptor: CountingTracingInterceptor
    channel: grpc.aio.Channel
    client: httpx.AsyncClient


@pytest.fixture
async def setup() -> AsyncIterator[Setup]:
    memory = in_memory_telemetry()
    server = grpc.aio.server(interceptors=grpc_server_interceptors())
    users_pb2_grpc.add_UserServiceServicer_to_server(UserServicer(), server)  # type: ignore[abstract]
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    interceptor = CountingTracingInterceptor()
    channel = grpc.aio.insecure_channel(
        f"127.0.0.1:{port}", interceptors=[cast(grpc.aio.ClientInterceptor, interceptor)]
    )
    app = create_gateway_app(channel, [users_pb2.DESCRIPTOR.services_by_name["UserService"]])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
        yield Setup(memory, interceptor, channel, client)
    await channel.close(None)
    await server.stop(None)
    memory.shutdown()


async def test_a_multicallable_keeps_the_channels_interceptors_where_we_look(
    setup: Setup,
) -> None:
    call = setup.channel.unary_unary(f"/{GET_USER}")

    found = client_interceptors(call)

    check(
        found is not None and [id(i) for i in found] == [id(setup.interceptor)],
        GRPC,
        COMPAT,
        f"a grpc.aio multicallable's `_interceptors` to list the channel's, found {found!r}",
    )


async def test_the_gateways_calls_skip_the_interceptor_and_still_make_the_client_span(
    setup: Setup,
) -> None:
    response = await setup.client.get("/v1/users/ada")
    assert response.status_code == 200, response.text
    spans = await finished_spans(setup.memory, 4)

    check(
        setup.interceptor.calls == 0,
        GRPC,
        COMPAT,
        f"the gateway's call to bypass the channel's interceptors, it went through them"
        f" {setup.interceptor.calls} time(s): replacing `_interceptors` no longer takes effect",
    )
    by_kind = {(span.kind, span.name): span for span in spans}
    gateway = by_kind.get((SpanKind.SERVER, "gateway GET /v1/users/{id}"))
    client = by_kind.get((SpanKind.CLIENT, GET_USER))
    server = by_kind.get((SpanKind.SERVER, GET_USER))
    assert gateway is not None, spans
    assert client is not None, spans
    assert server is not None, spans
    # The gateway's CLIENT span, a child of its SERVER span, its context sent as traceparent.
    assert client.parent is not None
    assert client.parent.span_id == gateway.context.span_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id

    # The same channel's other calls still go through the interceptor (the count can move).
    stub = users_pb2_grpc.UserServiceStub(setup.channel)
    await stub.GetUser(users_pb2.GetUserRequest(id="ada"))
    assert setup.interceptor.calls == 1
