"""The whole of OneHub, started through the composition root on loopback port 0.

- `hub` (RunningOneHub) on `database_url` (SQLite and PostgreSQL), with in-memory telemetry;
- `telemetry` (InMemoryTelemetry) holding the spans, metrics and logs it produced;
- `api` (httpx.AsyncClient) on its REST gateway, signed in as admin (dev auth);
- `as_user(name)` for a client signed in as someone else.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from onehub.app import RunningOneHub, start_onehub
from onehub.config import Settings
from onehub.telemetry.testing import InMemoryTelemetry, in_memory_telemetry


@pytest.fixture
def telemetry() -> Iterator[InMemoryTelemetry]:
    memory = in_memory_telemetry("onehub-e2e")
    yield memory
    memory.shutdown()


@pytest.fixture
async def hub(database_url: str, telemetry: InMemoryTelemetry) -> AsyncIterator[RunningOneHub]:
    settings = Settings(
        addr="127.0.0.1:0",
        gw_addr="127.0.0.1:0",
        db_endpoint=database_url,
        collector="none",
        grace_seconds=1.0,
        max_body_bytes=64 * 1024,
    )
    running = await start_onehub(settings, telemetry=telemetry.telemetry)
    yield running
    await running.stop()


@pytest.fixture
async def as_user(hub: RunningOneHub) -> AsyncIterator[Callable[[str], httpx.AsyncClient]]:
    clients: list[httpx.AsyncClient] = []

    def make(user: str, password: str | None = None) -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            base_url=hub.gateway_url, auth=(user, password or f"{user}123"), timeout=10
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
def api(as_user: Callable[[str], httpx.AsyncClient]) -> httpx.AsyncClient:
    return as_user("admin")
