"""One request, one trace: the span tree of docs/telemetry.md through the real, composed stack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

import httpx
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from onehub.telemetry.testing import InMemoryTelemetry

Tree = tuple[str, SpanKind, list["Tree"]]


async def _trace_of(telemetry: InMemoryTelemetry, trace_id: str) -> list[ReadableSpan]:
    """The trace's finished spans, once it is whole.

    The client has its response before the server side has necessarily ended its spans (the
    gRPC server span ends after the status is on the wire), so wait until every span's local
    parent has ended too: an ended child whose parent is missing means the trace is still
    closing.
    """
    deadline = asyncio.get_running_loop().time() + 5.0
    while True:
        spans = [s for s in telemetry.spans() if format(s.context.trace_id, "032x") == trace_id]
        ids = {s.context.span_id for s in spans}
        open_parents = [
            s.name
            for s in spans
            if s.parent is not None and not s.parent.is_remote and s.parent.span_id not in ids
        ]
        if spans and not open_parents:
            return spans
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"trace {trace_id} incomplete: {open_parents or 'no spans'}")
        await asyncio.sleep(0.01)


def _tree(spans: Sequence[ReadableSpan]) -> Tree:
    ids = {s.context.span_id for s in spans}
    roots = [s for s in spans if s.parent is None or s.parent.span_id not in ids]
    assert len(roots) == 1, f"expected one root, got {[r.name for r in roots]}"

    def build(span: ReadableSpan) -> Tree:
        children = sorted(
            (s for s in spans if s.parent is not None and s.parent.span_id == span.context.span_id),
            key=lambda s: s.start_time or 0,
        )
        return (span.name, span.kind, [build(c) for c in children])

    return build(roots[0])


def _chain(tree: Tree) -> list[tuple[str, SpanKind]]:
    """The first-child path from the root: the six levels of docs/telemetry.md."""
    path = []
    node: Tree | None = tree
    while node is not None:
        name, kind, children = node
        path.append((name, kind))
        node = children[0] if children else None
    return path


def _by_name(spans: Sequence[ReadableSpan], name: str) -> ReadableSpan:
    matches = [s for s in spans if s.name == name]
    assert matches, f"no span named {name!r} among {[s.name for s in spans]}"
    return matches[0]


def _trace_id(response: httpx.Response) -> str:
    header = response.headers["traceresponse"]
    version, trace_id, span_id, flags = header.split("-")
    assert (version, len(span_id)) == ("00", 16)
    assert int(flags, 16) & 1, "sampled"
    return trace_id


async def test_list_topics_is_one_six_level_trace(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    await api.post("/v1/topics", json={"topic": {"name": "t"}})
    telemetry.clear()
    response = await api.get("/api/v1/topics")
    assert response.status_code == 200
    spans = await _trace_of(telemetry, _trace_id(response))
    chain = _chain(_tree(spans))
    assert chain[:5] == [
        ("gateway GET /v1/topics", SpanKind.SERVER),
        ("onehub.v1.TopicService/ListTopics", SpanKind.CLIENT),
        ("onehub.v1.TopicService/ListTopics", SpanKind.SERVER),
        ("ListTopics", SpanKind.INTERNAL),
        ("db.ListTopics", SpanKind.INTERNAL),
    ]
    statement_name, statement_kind = chain[5]
    assert statement_kind == SpanKind.CLIENT
    assert statement_name.startswith("SELECT")
    assert "/" not in statement_name, "no file paths in span names"

    gateway = _by_name(spans, "gateway GET /v1/topics")
    assert gateway.attributes is not None
    assert gateway.attributes["http.request.method"] == "GET"
    assert gateway.attributes["http.route"] == "/v1/topics"
    assert gateway.attributes["url.path"] == "/api/v1/topics"
    assert gateway.attributes["http.response.status_code"] == 200
    server = next(s for s in spans if s.kind == SpanKind.SERVER and s.name.startswith("onehub.v1"))
    assert server.attributes is not None
    assert server.attributes["rpc.system.name"] == "grpc"
    assert server.attributes["rpc.method"] == "onehub.v1.TopicService/ListTopics"
    assert server.attributes["enduser.id"] == "admin"
    statement = next(s for s in spans if s.kind == SpanKind.CLIENT and s.name.startswith("SELECT"))
    assert statement.attributes is not None
    assert "db.query.text" in statement.attributes
    assert "db.system.name" in statement.attributes


async def test_get_topic_route_is_the_template_not_the_path(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    topic_id = (await api.post("/v1/topics", json={"topic": {"name": "t"}})).json()["topic"][
        "base"
    ]["id"]
    telemetry.clear()
    response = await api.get(f"/v1/topics/{topic_id}")
    spans = await _trace_of(telemetry, _trace_id(response))
    names = [name for name, _ in _chain(_tree(spans))]
    assert names[:5] == [
        "gateway GET /v1/topics/{id}",
        "onehub.v1.TopicService/GetTopic",
        "onehub.v1.TopicService/GetTopic",
        "GetTopic",
        "db.GetTopic",
    ]
    gateway = _by_name(spans, "gateway GET /v1/topics/{id}")
    assert gateway.attributes is not None
    assert gateway.attributes["url.path"] == f"/v1/topics/{topic_id}"


async def test_create_messages_trace_and_counter(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    await api.post("/v1/topics", json={"topic": {"base": {"id": "t"}, "name": "t"}})
    telemetry.clear()
    response = await api.post(
        "/v1/topics/t/messages",
        json={"messages": [{"contentBase": {"contentText": f"m{i}"}} for i in range(3)]},
    )
    assert response.status_code == 200
    spans = await _trace_of(telemetry, _trace_id(response))
    names = {s.name for s in spans}
    assert {
        "gateway POST /v1/topics/{topic_id}/messages",
        "onehub.v1.MessageService/CreateMessages",
        "CreateMessages",
        "db.SaveMessages",
    } <= names
    assert any(s.kind == SpanKind.CLIENT and s.name.startswith("INSERT") for s in spans)
    counter = telemetry.metrics()["onehub.messages"]
    total = sum(point.value for point in counter.data.data_points)  # type: ignore[union-attr]
    assert total == 3


async def test_not_found_is_an_error_on_the_client_span_only(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    telemetry.clear()
    response = await api.get("/v1/topics/nope")
    assert response.status_code == 404
    trace_id = _trace_id(response)
    assert response.json()["traceId"] == trace_id
    spans = await _trace_of(telemetry, trace_id)
    client = next(s for s in spans if s.kind == SpanKind.CLIENT and s.name.startswith("onehub.v1"))
    server = next(s for s in spans if s.kind == SpanKind.SERVER and s.name.startswith("onehub.v1"))
    gateway = _by_name(spans, "gateway GET /v1/topics/{id}")
    assert client.status.status_code == StatusCode.ERROR
    assert server.status.status_code != StatusCode.ERROR
    assert gateway.status.status_code != StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["rpc.status_code"] in (
        "NOT_FOUND",
        5,
    )
    service = _by_name(spans, "GetTopic")
    assert any(event.name == "exception" for event in service.events)


async def test_unauthenticated_call_trace_carries_no_credentials(
    as_user: Callable[..., httpx.AsyncClient], telemetry: InMemoryTelemetry
) -> None:
    telemetry.clear()
    intruder = as_user("admin", "not-the-password-s3cret")
    response = await intruder.get("/api/v1/topics")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    spans = await _trace_of(telemetry, _trace_id(response))
    names = [s.name for s in spans]
    assert "gateway GET /v1/topics" in names
    assert "ListTopics" not in names, "the service must not run for an unauthenticated call"
    dump = repr(
        [(s.name, dict(s.attributes or {}), [e.attributes for e in s.events]) for s in spans]
    )
    logs = repr([record.log_record.body for record in telemetry.logs()])
    for secret in ("not-the-password-s3cret", "YWRtaW46bm90LXRoZS1wYXNzd29yZC1zM2NyZXQ"):
        assert secret not in dump
        assert secret not in logs
        assert secret not in response.text


async def test_incoming_traceparent_is_continued(
    api: httpx.AsyncClient, telemetry: InMemoryTelemetry
) -> None:
    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    telemetry.clear()
    response = await api.get(
        "/v1/topics", headers={"traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"}
    )
    assert _trace_id(response) == caller_trace
    spans = await _trace_of(telemetry, caller_trace)
    gateway = _by_name(spans, "gateway GET /v1/topics")
    assert gateway.parent is not None
    assert format(gateway.parent.span_id, "016x") == "00f067aa0ba902b7"
    assert len(spans) >= 6
