"""A real OneHub gRPC server, on its own event loop in a background thread, bound to port 0.

The CLI's `main()` is synchronous and runs `asyncio.run` itself, so the server cannot share the
test's loop: it gets a thread, and tests talk to it only over the socket (and `server.run` to
seed data through the real services).
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
import uvicorn

from onehub.cli.main import main
from onehub.gen.onehub.v1 import messages_pb2, topics_pb2, users_pb2
from onehub.services.auth import build_authenticator
from onehub.services.bundle import Services, build_services
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.gateway import create_gateway_app
from onehub.transport.grpc.server import start_grpc_server

GATEWAY_SERVICES = [
    module.DESCRIPTOR.services_by_name[name]
    for module, name in (
        (topics_pb2, "TopicService"),
        (messages_pb2, "MessageService"),
        (users_pb2, "UserService"),
    )
]

T = TypeVar("T")

# A storage back end for one server: (loop-bound set-up) -> (uow factory, clean-up).
StorageFactory = Callable[[], Awaitable[tuple[UnitOfWorkFactory, Callable[[], Awaitable[None]]]]]


async def _memory_storage() -> tuple[UnitOfWorkFactory, Callable[[], Awaitable[None]]]:
    async def nothing() -> None:
        return None

    return memory_uow_factory(InMemoryDatabase()), nothing


@dataclass
class RunningServer:
    address: str
    services: Services
    _loop: asyncio.AbstractEventLoop
    # http://127.0.0.1:PORT of the REST gateway, when one was asked for.
    gateway_url: str = ""

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run `coroutine` on the server's loop (e.g. to seed data) and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)  # type: ignore[arg-type]


@dataclass
class _ServerThread:
    storage: StorageFactory
    auth: str
    with_gateway: bool = False

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: grpc.aio.Server | None = None
        self.cleanup: Callable[[], Awaitable[None]] | None = None
        self.gateway: uvicorn.Server | None = None
        self.gateway_task: asyncio.Task[None] | None = None
        self.gateway_channel: grpc.aio.Channel | None = None

    def start(self) -> RunningServer:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        return future.result(timeout=30)

    async def _start(self) -> RunningServer:
        uow_factory, self.cleanup = await self.storage()
        services = build_services(uow_factory)
        authenticator = build_authenticator(self.auth, uow_factory)
        self.server, port = await start_grpc_server(services, authenticator, "127.0.0.1:0")
        address = f"127.0.0.1:{port}"
        gateway_url = await self._start_gateway(address) if self.with_gateway else ""
        return RunningServer(address, services, self.loop, gateway_url)

    async def _start_gateway(self, grpc_address: str) -> str:
        self.gateway_channel = grpc.aio.insecure_channel(grpc_address)
        app = create_gateway_app(self.gateway_channel, GATEWAY_SERVICES)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self.gateway = uvicorn.Server(config)
        self.gateway_task = asyncio.create_task(self.gateway.serve(sockets=[sock]))
        # uvicorn offers only a flag for "listening"; poll it, bounded like everything here.
        async with asyncio.timeout(10):
            while not self.gateway.started:  # noqa: ASYNC110 (no event to wait on)
                await asyncio.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    async def _stop(self) -> None:
        if self.gateway is not None and self.gateway_task is not None:
            self.gateway.should_exit = True
            await self.gateway_task
        if self.gateway_channel is not None:
            await self.gateway_channel.close(None)
        if self.server is not None:
            await self.server.stop(None)
        if self.cleanup is not None:
            await self.cleanup()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def serve_in_thread(
    storage: StorageFactory, auth: str, *, with_gateway: bool = False
) -> Iterator[RunningServer]:
    thread = _ServerThread(storage, auth, with_gateway)
    running = thread.start()
    try:
        yield running
    finally:
        thread.stop()


@pytest.fixture
def server() -> Iterator[RunningServer]:
    """A server over in-memory storage with the dev credential checker (admin:admin123)."""
    yield from serve_in_thread(_memory_storage, "dev")


@pytest.fixture
def server_with_gateway() -> Iterator[RunningServer]:
    """Like `server`, plus the REST gateway on its own loopback port."""
    yield from serve_in_thread(_memory_storage, "dev", with_gateway=True)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], server: RunningServer) -> Cli:
    return Cli(capsys, server.address)


@pytest.fixture(autouse=True)
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ONEHUB_* setting of the machine leaks into a test; work in a scratch directory."""
    for name in ("ONEHUB_SERVER", "ONEHUB_USER", "ONEHUB_PASSWORD", "ONEHUB_DB_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str


class Cli:
    """Runs `onehub ...` in-process against one server and captures what it prints."""

    def __init__(self, capsys: pytest.CaptureFixture[str], address: str) -> None:
        self._capsys = capsys
        self.address = address

    def __call__(self, *args: str) -> Result:
        self._capsys.readouterr()
        status = main(["--server", self.address, *args])
        captured = self._capsys.readouterr()
        return Result(status, captured.out, captured.err)
