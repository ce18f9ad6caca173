"""A real grpc.aio server on port 0 with a recording test double of the three services,
and the gateway in front of it over a real (instrumented) grpc.aio channel."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import httpx
import pytest
import uvicorn
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from opentelemetry.instrumentation.grpc import aio_client_interceptors
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from onehub.gen.onehub.v1 import messages_pb2, topics_pb2, users_pb2
from onehub.transport.gateway import LocalGrpcServer, create_gateway_app

from .library import library_service

ONEHUB_SERVICES: list[ServiceDescriptor] = [
    topics_pb2.DESCRIPTOR.services_by_name["TopicService"],
    messages_pb2.DESCRIPTOR.services_by_name["MessageService"],
    users_pb2.DESCRIPTOR.services_by_name["UserService"],
]


def all_services() -> list[ServiceDescriptor]:
    """OneHub's services and the test-only LibraryService."""
    return [*ONEHUB_SERVICES, library_service()]


Behaviour = Callable[[Message, grpc.aio.ServicerContext[Any, Any]], Awaitable[Message]]


@dataclass
class Call:
    """One RPC as the server received it."""

    method: str
    request: Message
    metadata: dict[str, str]


@dataclass
class RecordingBackend:
    """Stands in for the real services: records every call and answers with the behaviour
    set for the method, or an empty response."""

    calls: list[Call] = field(default_factory=list)
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    # Like the real services: without these credentials in the metadata, no answer.
    required_credentials: tuple[str, str] | None = None

    @property
    def last(self) -> Call:
        assert self.calls, "the gateway made no gRPC call"
        return self.calls[-1]

    def answer(self, method: str, response: Message) -> None:
        async def reply(_: Message, __: grpc.aio.ServicerContext[Any, Any]) -> Message:
            return response

        self.behaviours[method] = reply

    def fail(self, method: str, code: grpc.StatusCode, message: str) -> None:
        async def abort(_: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            await context.abort(code, message)
            raise AssertionError("abort returns only by raising")

        self.behaviours[method] = abort

    def handlers(self) -> list[grpc.GenericRpcHandler[Any, Any]]:
        return [self._service_handler(service) for service in all_services()]

    def _service_handler(self, service: ServiceDescriptor) -> grpc.GenericRpcHandler[Any, Any]:
        methods = {}
        for method in service.methods:
            request_class = GetMessageClass(method.input_type)
            response_class = GetMessageClass(method.output_type)
            methods[method.name] = grpc.unary_unary_rpc_method_handler(
                self._behaviour(method.name, response_class),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
        return grpc.method_handlers_generic_handler(service.full_name, methods)

    def _behaviour(self, name: str, response_class: type[Message]) -> Behaviour:
        async def behave(request: Message, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            metadata = {k: v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
            self.calls.append(Call(name, request, metadata))
            given = (metadata.get("onehubusername"), metadata.get("onehubpassword"))
            if self.required_credentials and given != self.required_credentials:
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "wrong credentials")
            behaviour = self.behaviours.get(name)
            return await behaviour(request, context) if behaviour else response_class()

        return behave


@dataclass
class Gateway:
    client: httpx.AsyncClient
    backend: RecordingBackend
    spans: InMemorySpanExporter

    def finished_spans(self, name_prefix: str = "gateway") -> list[Any]:
        return [s for s in self.spans.get_finished_spans() if s.name.startswith(name_prefix)]


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracer_provider(span_exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    return provider


@pytest.fixture
async def backend_port() -> AsyncIterator[tuple[RecordingBackend, int]]:
    backend = RecordingBackend()
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(backend.handlers())
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield backend, port
    await server.stop(grace=None)


DISPATCHES = ("network", "in-process")


@pytest.fixture(params=DISPATCHES)
def dispatch(request: pytest.FixtureRequest) -> str:
    """How the gateway reaches the services: each test runs both ways."""
    mode: str = request.param
    return mode


async def _gateway(
    backend_port: tuple[RecordingBackend, int],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    dispatch: str = "network",
    **options: Any,
) -> AsyncIterator[Gateway]:
    backend, port = backend_port
    # The instrumentation package is untyped.
    interceptors = aio_client_interceptors(tracer_provider=tracer_provider)  # type: ignore[no-untyped-call]
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}", interceptors=interceptors) as channel:
        upstream: grpc.aio.Channel | LocalGrpcServer = (
            LocalGrpcServer(backend.handlers()) if dispatch == "in-process" else channel
        )
        app = create_gateway_app(
            upstream, all_services(), tracer_provider=tracer_provider, **options
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield Gateway(client, backend, span_exporter)


@pytest.fixture
async def gateway(
    backend_port: tuple[RecordingBackend, int],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    dispatch: str,
) -> AsyncIterator[Gateway]:
    async for each in _gateway(
        backend_port, tracer_provider, span_exporter, dispatch, max_body_bytes=4096
    ):
        yield each


@pytest.fixture
async def short_deadline_gateway(
    backend_port: tuple[RecordingBackend, int],
    tracer_provider: TracerProvider,
    span_exporter: InMemorySpanExporter,
    dispatch: str,
) -> AsyncIterator[Gateway]:
    async for each in _gateway(
        backend_port, tracer_provider, span_exporter, dispatch, call_timeout=0.2
    ):
        yield each


@dataclass
class LiveGateway:
    """The gateway on a real uvicorn server, in front of the OneHub services' double."""

    url: str
    backend: RecordingBackend


@pytest.fixture
async def live_gateway(backend_port: tuple[RecordingBackend, int]) -> AsyncIterator[LiveGateway]:
    backend, port = backend_port
    backend.required_credentials = ("alice", "alice123")
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        app = create_gateway_app(channel, ONEHUB_SERVICES)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, lifespan="off"
        )
        server = uvicorn.Server(config)
        # A socket already listening: clients queue in its backlog until uvicorn accepts.
        with socket.create_server(("127.0.0.1", 0)) as listening:
            # asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP, and
            # create_server leaves it 0: without this, Nagle adds ~40 ms to every response.
            listening.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            serving = asyncio.create_task(server.serve(sockets=[listening]))
            yield LiveGateway(f"http://127.0.0.1:{listening.getsockname()[1]}", backend)
            server.should_exit = True
            await serving
