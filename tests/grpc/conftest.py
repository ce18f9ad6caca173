"""A real OneHub gRPC server on a loopback port chosen by the OS, and clients for it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import grpc
import pytest

from onehub.gen.onehub.v1 import messages_pb2_grpc, topics_pb2_grpc, users_pb2_grpc
from onehub.services.auth import Authenticator, DevChecker
from onehub.services.bundle import Services, build_services
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.grpc.server import start_grpc_server

from ..services.racing import RacingUowFactory

Metadata = tuple[tuple[str, str], ...]


def creds(user: str, password: str | None = None) -> Metadata:
    """The original clients' metadata: OneHubUsername / OneHubPassword (dev password default)."""
    return (("onehubusername", user), ("onehubpassword", password or user + "123"))


ADMIN = creds("admin")
ALICE = creds("alice")
BOB = creds("bob")


@dataclass
class Hub:
    """A running server and generated stubs on one channel to it."""

    server: grpc.aio.Server
    port: int
    channel: grpc.aio.Channel
    services: Services
    topics: topics_pb2_grpc.TopicServiceAsyncStub
    messages: messages_pb2_grpc.MessageServiceAsyncStub
    users: users_pb2_grpc.UserServiceAsyncStub


class StartHub(Protocol):
    async def __call__(
        self, uow_factory: UnitOfWorkFactory, authenticator: Authenticator | None = None
    ) -> Hub: ...


@pytest.fixture
async def start_hub() -> AsyncIterator[StartHub]:
    """A function starting a Hub over any unit-of-work factory and authenticator."""
    running: list[Hub] = []

    async def start(
        uow_factory: UnitOfWorkFactory, authenticator: Authenticator | None = None
    ) -> Hub:
        services = build_services(uow_factory)
        server, port = await start_grpc_server(
            services, authenticator or Authenticator(DevChecker())
        )
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        hub = Hub(
            server,
            port,
            channel,
            services,
            topics_pb2_grpc.TopicServiceStub(channel),  # type: ignore[arg-type]
            messages_pb2_grpc.MessageServiceStub(channel),  # type: ignore[arg-type]
            users_pb2_grpc.UserServiceStub(channel),  # type: ignore[arg-type]
        )
        running.append(hub)
        return hub

    yield start
    for hub in running:
        await hub.channel.close()
        await hub.server.stop(None)


@pytest.fixture
def racing_uow() -> RacingUowFactory:
    return RacingUowFactory(memory_uow_factory(InMemoryDatabase()))


@pytest.fixture
async def hub(start_hub: StartHub, racing_uow: RacingUowFactory) -> Hub:
    """A server over the in-memory store with dev credentials."""
    return await start_hub(racing_uow)
