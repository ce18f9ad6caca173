"""Every store method runs in its own INTERNAL span named db.<Operation>; failures are recorded."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from sqlalchemy.ext.asyncio import AsyncEngine

from onehub.domain.errors import NotFound
from onehub.domain.models import MessageQuery, PageRequest, User
from onehub.services.ports import UnitOfWorkFactory
from onehub.storage.memory import InMemoryDatabase, memory_uow_factory
from onehub.storage.uow import sql_uow_factory

from .helpers import message, topic

EXPECTED_SPANS = [
    "db.SaveUser",
    "db.GetUser",
    "db.GetUsers",
    "db.ListUsers",
    "db.UpdateUser",
    "db.SetPasswordHash",
    "db.GetPasswordHash",
    "db.SaveTopic",
    "db.GetTopic",
    "db.GetTopics",
    "db.ListTopics",
    "db.UpdateTopic",
    "db.SaveMessages",
    "db.GetMessage",
    "db.GetMessages",
    "db.ListMessages",
    "db.UpdateMessage",
    "db.SearchMessages",
    "db.DeleteMessage",
    "db.DeleteTopic",
    "db.DeleteUser",
]


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def _call_every_method(factory: UnitOfWorkFactory) -> None:
    page = PageRequest(page_size=5)
    async with factory() as uow:
        user = await uow.users.add(User("u1", "Ann"))
        await uow.users.get("u1")
        await uow.users.get_many(["u1"])
        await uow.users.list(page)
        await uow.users.update(user, user.version)
        await uow.users.set_password_hash("u1", "h")
        await uow.users.get_password_hash("u1")
        added = await uow.topics.add(topic("t1"))
        await uow.topics.get("t1")
        await uow.topics.get_many(["t1"])
        await uow.topics.list(page)
        await uow.topics.update(added, added.version)
        [stored] = await uow.messages.add_many([message("m1", "t1", "hi")])
        await uow.messages.get("m1")
        await uow.messages.get_many(["m1"])
        await uow.messages.list_in_topic("t1", page)
        await uow.messages.update(stored, stored.version)
        await uow.messages.search(MessageQuery("hi"), page)
        await uow.messages.delete("m1")
        await uow.topics.delete("t1")
        await uow.users.delete("u1")


async def _assert_spans(factory: UnitOfWorkFactory, exporter: InMemorySpanExporter) -> None:
    await _call_every_method(factory)
    spans = exporter.get_finished_spans()
    assert [s.name for s in spans] == EXPECTED_SPANS
    assert {s.kind for s in spans} == {SpanKind.INTERNAL}
    assert {s.instrumentation_scope.name for s in spans} == {"onehub.storage"}

    exporter.clear()
    async with factory() as uow:
        with pytest.raises(NotFound):
            await uow.users.update(User("ghost", "x"), 1)
    [failed] = [s for s in exporter.get_finished_spans() if s.name == "db.UpdateUser"]
    assert failed.status.status_code is StatusCode.ERROR
    assert [e.name for e in failed.events] == ["exception"]
    assert "ghost" in str(failed.events[0].attributes)


async def test_sql_store_methods_have_spans(
    sql_engine: AsyncEngine, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    await _assert_spans(sql_uow_factory(sql_engine, provider), exporter)


async def test_memory_store_methods_have_spans(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    await _assert_spans(memory_uow_factory(InMemoryDatabase(), provider), exporter)
