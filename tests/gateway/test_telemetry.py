"""The one SERVER span per request, trace context in and out."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from .conftest import Gateway

CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"


@pytest.mark.parametrize("prefix", ["", "/api"])
async def test_the_span_is_named_by_route_not_by_raw_path(gateway: Gateway, prefix: str) -> None:
    await gateway.client.get(f"{prefix}/v1/topics/t-42")

    (span,) = gateway.finished_spans()
    assert span.name == "gateway GET /v1/topics/{id}"
    assert span.kind == SpanKind.SERVER
    assert dict(span.attributes or {}) == {
        "http.request.method": "GET",
        "url.path": f"{prefix}/v1/topics/t-42",
        "url.scheme": "http",
        "http.route": "/v1/topics/{id}",
        "http.response.status_code": 200,
        "server.address": "gateway.test",  # the test transport gives no port for :80
    }
    assert span.status.status_code == StatusCode.UNSET


async def test_nested_and_verb_routes_are_named_openapi_style(gateway: Gateway) -> None:
    await gateway.client.patch("/v1/topics/t1", json={})
    await gateway.client.get("/api/v1/users:batchGet?ids=a")

    names = [span.name for span in gateway.finished_spans()]
    assert names == ["gateway PATCH /v1/topics/{topic.base.id}", "gateway GET /v1/users:batchGet"]


async def test_an_unknown_route_still_gets_a_span_without_a_route(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/nowhere/9")

    (span,) = gateway.finished_spans()
    assert span.name == "gateway GET"
    assert "http.route" not in (span.attributes or {})
    assert (span.attributes or {})["url.path"] == "/v1/nowhere/9"
    assert (span.attributes or {})["http.response.status_code"] == 404
    assert span.status.status_code == StatusCode.UNSET  # a 4xx is the client's fault
    assert response.json()["traceId"] == f"{span.context.trace_id:032x}"


async def test_a_caller_trace_continues_through_the_gateway_and_the_grpc_hop(
    gateway: Gateway, dispatch: str
) -> None:
    response = await gateway.client.get(
        "/v1/topics", headers={"traceparent": TRACEPARENT, "baggage": "tenant=acme"}
    )

    (server_span,) = gateway.finished_spans()
    client_spans = [s for s in gateway.spans.get_finished_spans() if s.kind == SpanKind.CLIENT]
    assert f"{server_span.context.trace_id:032x}" == CALLER_TRACE
    assert server_span.parent is not None
    assert f"{server_span.parent.span_id:016x}" == CALLER_SPAN
    assert server_span.parent.is_remote
    if dispatch == "network":
        # The hop's CLIENT span, a child of the gateway's, is the servicer's parent.
        (client_span,) = client_spans
        assert client_span.parent is not None
        assert client_span.parent.span_id == server_span.context.span_id
        sender = client_span
    else:
        # No client, no CLIENT span: the servicer's parent is the gateway's span itself.
        assert client_spans == []
        sender = server_span
    # What reached the gRPC servicer: the same trace, and the caller's baggage.
    metadata = gateway.backend.last.metadata
    assert metadata["traceparent"].split("-")[1] == CALLER_TRACE
    assert metadata["traceparent"].split("-")[2] == f"{sender.context.span_id:016x}"
    assert metadata["baggage"] == "tenant=acme"
    assert response.headers["traceresponse"] == (
        f"00-{CALLER_TRACE}-{server_span.context.span_id:016x}-01"
    )


async def test_without_a_traceparent_the_gateway_starts_a_trace(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/users")

    (span,) = gateway.finished_spans()
    assert span.parent is None
    version, trace_id, span_id, flags = response.headers["traceresponse"].split("-")
    assert version == "00"
    assert flags == f"{span.context.trace_flags:02x}"
    assert trace_id == f"{span.context.trace_id:032x}"
    assert span_id == f"{span.context.span_id:016x}"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/v1/topics", None, 200),
        ("GET", "/v1/zzz", None, 404),
        ("PUT", "/v1/topics", None, 405),
        ("POST", "/v1/topics", b"{", 400),
        ("POST", "/v1/topics", b"{}" + b" " * 5000, 413),
        ("GET", "/v1/topics", None, 401),
    ],
)
async def test_every_response_names_its_trace(
    gateway: Gateway, method: str, path: str, body: bytes | None, status: int
) -> None:
    headers = {"traceparent": TRACEPARENT}
    if status == 401:
        headers["authorization"] = "Digest nope"
    response = await gateway.client.request(method, path, content=body, headers=headers)

    assert response.status_code == status
    assert response.headers["traceresponse"].startswith(f"00-{CALLER_TRACE}-")
    if status != 200:
        assert response.json()["traceId"] == CALLER_TRACE
    (span,) = gateway.finished_spans()
    assert (span.attributes or {})["http.response.status_code"] == status
    assert span.status.status_code == StatusCode.UNSET


async def test_an_unusual_method_is_recorded_as_other(gateway: Gateway) -> None:
    response = await gateway.client.request("BREW", "/v1/topics")

    assert response.status_code == 405
    (span,) = gateway.finished_spans()
    assert span.name == "gateway HTTP"  # no binding has this method, so no route
    assert (span.attributes or {})["http.request.method"] == "_OTHER"
