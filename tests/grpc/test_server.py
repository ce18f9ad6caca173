"""The server itself: bound port, health, reflection, bind failures."""

from __future__ import annotations

import re

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from onehub.services.auth import Authenticator, DevChecker
from onehub.services.bundle import build_services
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.grpc.server import GrpcBindError, start_grpc_server

from .conftest import Hub


async def test_health_answers_serving_without_credentials(hub: Hub) -> None:
    health = health_pb2_grpc.HealthStub(hub.channel)
    for service in ["", "onehub.v1.TopicService", "onehub.v1.MessageService"]:
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await health.Check(health_pb2.HealthCheckRequest(service="nope.Service"))
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_services_without_credentials(hub: Hub) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(hub.channel)
    call = reflection.ServerReflectionInfo()
    await call.write(reflection_pb2.ServerReflectionRequest(list_services=""))
    listed = await call.read()
    await call.write(
        reflection_pb2.ServerReflectionRequest(file_containing_symbol="onehub.v1.TopicService")
    )
    described = await call.read()
    await call.done_writing()

    names = {service.name for service in listed.list_services_response.service}
    assert {
        "onehub.v1.TopicService",
        "onehub.v1.MessageService",
        "onehub.v1.UserService",
        "grpc.health.v1.Health",
    } <= names
    assert described.file_descriptor_response.file_descriptor_proto


async def test_a_taken_port_is_a_clear_error_naming_the_address(hub: Hub) -> None:
    services = build_services(memory_uow_factory(InMemoryDatabase()))
    addr = f"127.0.0.1:{hub.port}"
    with pytest.raises(GrpcBindError, match=re.escape(f"cannot start the gRPC server on {addr}")):
        await start_grpc_server(services, Authenticator(DevChecker()), addr)


async def test_an_unusable_address_is_a_clear_error() -> None:
    services = build_services(memory_uow_factory(InMemoryDatabase()))
    with pytest.raises(GrpcBindError, match=re.escape("203.0.113.1:0")):
        await start_grpc_server(services, Authenticator(DevChecker()), "203.0.113.1:0")
