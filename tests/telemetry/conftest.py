"""Fixtures: in-memory telemetry, and a real grpc.aio UserService on port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from onehub.gen.onehub.v1 import users_pb2_grpc
from onehub.telemetry.testing import InMemoryTelemetry, in_memory_telemetry
from tests.ports import free_port

from .support import UserServer, start_user_server


@pytest.fixture
def memory() -> Iterator[InMemoryTelemetry]:
    captured = in_memory_telemetry()
    yield captured
    captured.shutdown()


@pytest.fixture
async def user_server(memory: InMemoryTelemetry) -> AsyncIterator[UserServer]:
    server, channel, port = await start_user_server()
    yield UserServer(port, users_pb2_grpc.UserServiceStub(channel))
    await channel.close(None)
    await server.stop(None)


@pytest.fixture
def unused_port() -> int:
    """A loopback port nobody listens on."""
    return free_port()
