"""Services over the in-memory store, with telemetry recorded by an in-memory SDK."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from argon2 import PasswordHasher
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from onehub.domain.models import ADMIN_ID, Principal, User
from onehub.services.bundle import Services, build_services
from onehub.services.instrumentation import ServiceInstruments
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory

from .racing import RacingUowFactory

ADMIN = Principal(ADMIN_ID)
ALICE = Principal("alice")
BOB = Principal("bob")


def cheap_hasher() -> PasswordHasher:
    """argon2 with the smallest parameters: the tests check behaviour, not hardness."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def span_exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def instruments(
    span_exporter: InMemorySpanExporter, metric_reader: InMemoryMetricReader
) -> Iterator[ServiceInstruments]:
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(span_exporter))
    meter_provider = MeterProvider(metric_readers=[metric_reader])
    yield ServiceInstruments.create(tracer_provider, meter_provider)
    tracer_provider.shutdown()
    meter_provider.shutdown()


@pytest.fixture
def memory_db() -> InMemoryDatabase:
    return InMemoryDatabase()


@pytest.fixture
def racing_uow(memory_db: InMemoryDatabase) -> RacingUowFactory:
    return RacingUowFactory(memory_uow_factory(memory_db))


@pytest.fixture
def services(racing_uow: RacingUowFactory, instruments: ServiceInstruments) -> Services:
    return build_services(racing_uow, instruments=instruments, password_hasher=cheap_hasher())


@pytest.fixture
def plain_services(racing_uow: RacingUowFactory) -> Services:
    """The same store, through services whose writes are never raced (for competitors)."""
    return build_services(racing_uow.inner, password_hasher=cheap_hasher())


async def add_people(services: Services, *user_ids: str) -> None:
    """Create the users a test names as topic members (members must be existing users)."""
    for user_id in user_ids:
        await services.users.create_user(ADMIN, User(id=user_id, name=user_id.title()))
