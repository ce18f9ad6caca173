"""Extra interceptors run outermost: a telemetry interceptor's span sees the caller and faults."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from onehub.gen.onehub.v1 import models_pb2, topics_pb2, topics_pb2_grpc
from onehub.services.auth import Authenticator, DevChecker
from onehub.services.bundle import build_services
from onehub.services.ports import UnitOfWork
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.grpc.server import start_grpc_server

from .conftest import ALICE


class SpanPerCall(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Stands in for the OpenTelemetry server interceptor: one span around each call."""

    def __init__(self, provider: TracerProvider) -> None:
        self._tracer = provider.get_tracer("test")

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Any]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        inner = handler.unary_unary

        async def traced(request: Any, context: Any) -> Any:
            with self._tracer.start_as_current_span("server", record_exception=False):
                return await inner(request, context)

        return grpc.unary_unary_rpc_method_handler(
            traced,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _broken() -> UnitOfWork:
    raise RuntimeError("boom")


@pytest.mark.parametrize("broken", [False, True])
async def test_the_outer_span_gets_the_caller_and_server_faults(broken: bool) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    uow_factory = _broken if broken else memory_uow_factory(InMemoryDatabase())
    server, port = await start_grpc_server(
        build_services(uow_factory),
        Authenticator(DevChecker()),
        interceptors=[SpanPerCall(provider)],
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = topics_pb2_grpc.TopicServiceStub(channel)
            request = topics_pb2.CreateTopicRequest(topic=models_pb2.Topic(name="t"))
            if broken:
                with pytest.raises(grpc.aio.AioRpcError):
                    await stub.CreateTopic(request, metadata=ALICE)
            else:
                await stub.CreateTopic(request, metadata=ALICE)
    finally:
        await server.stop(None)
        provider.shutdown()

    [span] = exporter.get_finished_spans()
    assert span.attributes is not None
    assert span.attributes["enduser.id"] == "alice"
    assert "password" not in str(dict(span.attributes)).lower()
    expected = StatusCode.ERROR if broken else StatusCode.UNSET
    assert span.status.status_code is expected
