"""A real OneHub gRPC server, on its own event loop in a background thread, bound to port 0.

The CLI's `main()` is synchronous and runs `asyncio.run` itself, so the server cannot share the
test's loop: it gets a thread, and tests talk to it only over the socket (and `server.run` to
seed data through the real services).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import grpc
import pytest

from onehub.cli.main import main
from onehub.services.auth import build_authenticator
from onehub.services.bundle import Services, build_services
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.transport.grpc.server import start_grpc_server

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

    def run(self, coroutine: Awaitable[T]) -> T:
        """Run `coroutine` on the server's loop (e.g. to seed data) and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)  # type: ignore[arg-type]


@dataclass
class _ServerThread:
    storage: StorageFactory
    auth: str

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: grpc.aio.Server | None = None
        self.cleanup: Callable[[], Awaitable[None]] | None = None

    def start(self) -> RunningServer:
        self.thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self.loop)
        services, port = future.result(timeout=30)
        return RunningServer(f"127.0.0.1:{port}", services, self.loop)

    async def _start(self) -> tuple[Services, int]:
        uow_factory, self.cleanup = await self.storage()
        services = build_services(uow_factory)
        authenticator = build_authenticator(self.auth, uow_factory)
        self.server, port = await start_grpc_server(services, authenticator, "127.0.0.1:0")
        return services, port

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.stop(None)
        if self.cleanup is not None:
            await self.cleanup()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self.loop).result(timeout=30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=30)
        self.loop.close()


def serve_in_thread(storage: StorageFactory, auth: str) -> Iterator[RunningServer]:
    thread = _ServerThread(storage, auth)
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
