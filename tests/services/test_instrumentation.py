"""The telemetry a person sees from the services: one span per use case, created-entity counts."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from onehub.domain.errors import NotFound
from onehub.domain.models import Message, PageRequest, Topic, User
from onehub.services.bundle import Services
from onehub.services.ports import UnitOfWork

from .conftest import ADMIN, ALICE
from .racing import RacingUowFactory


def counts(reader: InMemoryMetricReader) -> dict[str, tuple[int, str]]:
    data = reader.get_metrics_data()
    found: dict[str, tuple[int, str]] = {}
    if data is None:
        return found
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                total = sum(point.value for point in metric.data.data_points)  # type: ignore[union-attr]
                found[metric.name] = (int(total), metric.unit or "")
    return found


async def test_each_use_case_is_an_internal_span_named_after_its_rpc(
    services: Services, span_exporter: InMemorySpanExporter
) -> None:
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    await services.topics.list_topics(ALICE, PageRequest())
    await services.messages.create_messages(
        ALICE, topic.id, [Message(id="", creator_id="", topic_id="")]
    )

    spans = span_exporter.get_finished_spans()
    service_spans = [s for s in spans if not s.name.startswith("db.")]
    assert [s.name for s in service_spans] == ["CreateTopic", "ListTopics", "CreateMessages"]
    for span in service_spans:
        assert span.kind is SpanKind.INTERNAL
        assert span.attributes is not None
        assert span.attributes["enduser.id"] == "alice"
        assert span.status.status_code is StatusCode.UNSET


async def test_a_client_error_is_an_event_but_not_an_error_status(
    services: Services, span_exporter: InMemorySpanExporter
) -> None:
    with pytest.raises(NotFound):
        await services.topics.get_topic(ALICE, "ghost")

    [span] = [s for s in span_exporter.get_finished_spans() if s.name == "GetTopic"]
    assert span.status.status_code is StatusCode.UNSET
    assert span.attributes is not None
    assert span.attributes["error.type"] == "NotFound"
    assert [event.name for event in span.events] == ["exception"]


async def test_a_server_fault_marks_the_span_as_an_error(
    services: Services, span_exporter: InMemorySpanExporter, racing_uow: RacingUowFactory
) -> None:
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))

    async def crash() -> None:
        raise RuntimeError("disk on fire")

    racing_uow.competitor = crash
    with pytest.raises(RuntimeError):
        await services.topics.update_topic(
            ALICE, Topic(id=topic.id, creator_id="", name="u"), ["name"]
        )

    [span] = [s for s in span_exporter.get_finished_spans() if s.name == "UpdateTopic"]
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].attributes is not None
    assert span.events[0].attributes["exception.type"] == "RuntimeError"


async def test_counters_count_committed_creations_only(
    services: Services, metric_reader: InMemoryMetricReader
) -> None:
    await services.users.create_user(ADMIN, User(id="alice", name="Alice"))
    topic = await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    three = [Message(id="", creator_id="", topic_id="") for _ in range(3)]
    await services.messages.create_messages(ALICE, topic.id, three)
    with pytest.raises(NotFound):
        await services.messages.create_messages(ALICE, "ghost", three)

    assert counts(metric_reader) == {
        "onehub.users": (1, "{user}"),
        "onehub.topics": (1, "{topic}"),
        "onehub.messages": (3, "{message}"),
    }


async def test_nothing_is_counted_when_the_commit_fails(
    services: Services, metric_reader: InMemoryMetricReader, racing_uow: RacingUowFactory
) -> None:
    original = racing_uow.inner

    def failing_commit() -> UnitOfWork:
        uow = original()

        async def commit() -> None:
            raise RuntimeError("commit failed")

        uow.commit = commit  # type: ignore[method-assign]
        return uow

    racing_uow.inner = failing_commit
    with pytest.raises(RuntimeError):
        await services.topics.create_topic(ALICE, Topic(id="", creator_id="", name="t"))
    assert "onehub.topics" not in counts(metric_reader)
