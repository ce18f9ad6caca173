"""The gRPC interceptors, over a real loopback connection: spans, links, status, metrics."""

from __future__ import annotations

import grpc
import grpc.aio
import pytest
from opentelemetry import baggage, context, trace
from opentelemetry.sdk.metrics.export import HistogramDataPoint
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from onehub.gen.onehub.v1 import users_pb2
from onehub.telemetry.testing import InMemoryTelemetry

from .support import UserServer, finished_spans

METHOD = "onehub.v1.UserService/GetUser"


def by_kind(spans: list[ReadableSpan] | tuple[ReadableSpan, ...], kind: SpanKind) -> ReadableSpan:
    [span] = [span for span in spans if span.kind is kind]
    return span


async def get_user(server: UserServer, user_id: str) -> grpc.StatusCode:
    try:
        await server.stub.GetUser(users_pb2.GetUserRequest(id=user_id))
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


async def test_one_call_is_one_trace_across_the_wire(
    user_server: UserServer, memory: InMemoryTelemetry
) -> None:
    with trace.get_tracer("test").start_as_current_span("caller") as caller:
        assert await get_user(user_server, "u1") is grpc.StatusCode.OK

    spans = await finished_spans(memory, 4)
    client, server = by_kind(spans, SpanKind.CLIENT), by_kind(spans, SpanKind.SERVER)
    [handler] = [span for span in spans if span.name == "GetUser"]
    assert client.name == server.name == METHOD
    trace_id = caller.get_span_context().trace_id
    assert {span.context.trace_id for span in spans} == {trace_id}
    assert client.parent is not None
    assert client.parent.span_id == caller.get_span_context().span_id
    assert server.parent is not None
    assert server.parent.span_id == client.context.span_id
    assert server.parent.is_remote
    assert handler.parent is not None
    assert handler.parent.span_id == server.context.span_id
    for span in (client, server):
        assert span.attributes == {
            "rpc.system.name": "grpc",
            "rpc.method": METHOD,
            "rpc.status_code": "OK",
        }
        assert span.status.status_code is StatusCode.UNSET


async def test_baggage_crosses_the_wire(user_server: UserServer, memory: InMemoryTelemetry) -> None:
    token = context.attach(baggage.set_baggage("tenant", "acme"))
    try:
        assert await get_user(user_server, "u1") is grpc.StatusCode.OK
    finally:
        context.detach(token)

    [handler] = [span for span in await finished_spans(memory, 3) if span.name == "GetUser"]
    assert handler.attributes is not None
    assert handler.attributes["seen.tenant"] == "acme"


@pytest.mark.parametrize(
    ("user_id", "code", "server_error"),
    [
        ("missing", grpc.StatusCode.NOT_FOUND, False),
        ("internal", grpc.StatusCode.INTERNAL, True),
        ("crash", grpc.StatusCode.UNKNOWN, True),
    ],
)
async def test_status_follows_the_semantic_conventions(
    user_server: UserServer,
    memory: InMemoryTelemetry,
    user_id: str,
    code: grpc.StatusCode,
    server_error: bool,
) -> None:
    assert await get_user(user_server, user_id) is code

    spans = await finished_spans(memory, 2)
    client, server = by_kind(spans, SpanKind.CLIENT), by_kind(spans, SpanKind.SERVER)
    assert client.attributes is not None
    assert client.attributes["rpc.status_code"] == code.name
    assert server.attributes is not None
    assert server.attributes["rpc.status_code"] == code.name
    assert client.status.status_code is StatusCode.ERROR
    expected = StatusCode.ERROR if server_error else StatusCode.UNSET
    assert server.status.status_code is expected


async def test_a_crash_is_an_exception_event_on_the_server_span(
    user_server: UserServer, memory: InMemoryTelemetry
) -> None:
    await get_user(user_server, "crash")

    server = by_kind(await finished_spans(memory, 2), SpanKind.SERVER)
    [event] = server.events
    assert event.name == "exception"
    assert event.attributes is not None
    assert event.attributes["exception.type"] == "RuntimeError"
    assert event.attributes["exception.message"] == "servicer bug"


async def test_call_durations_by_method_and_code(
    user_server: UserServer, memory: InMemoryTelemetry
) -> None:
    for user_id in ("a", "b", "c", "missing"):
        await get_user(user_server, user_id)
    await finished_spans(memory, 3 * 3 + 2)

    metric = memory.metrics()["rpc.server.call.duration"]
    assert metric.unit == "s"
    points = {
        dict(point.attributes or {})["rpc.status_code"]: point
        for point in metric.data.data_points
        if isinstance(point, HistogramDataPoint)
    }
    assert {code: point.count for code, point in points.items()} == {"OK": 3, "NOT_FOUND": 1}
    ok = points["OK"]
    assert dict(ok.attributes or {}) == {
        "rpc.system.name": "grpc",
        "rpc.method": METHOD,
        "rpc.status_code": "OK",
    }
    assert ok.explicit_bounds[:3] == (0.005, 0.01, 0.025)
    # Exemplars carry the trace of a call that was measured.
    server_traces = {
        span.context.trace_id for span in memory.spans() if span.kind is SpanKind.SERVER
    }
    assert ok.exemplars
    assert {exemplar.trace_id for exemplar in ok.exemplars} <= server_traces
