"""Span ids per the OTLP data model, on every receiver (OTLP/HTTP protobuf and JSON, OTLP/gRPC):
a span with a bad trace, span or parent id is rejected and reported in `partial_success`, the
valid spans of the same request are stored, and an all-zero parent id means "no parent"."""

from __future__ import annotations

import json
from typing import Literal

import grpc
import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from collector_tests.conftest import now_us
from collector_tests.otlp_builders import SpanSpec, new_span_id, new_trace_id, traces_request
from onehub_collector import RunningCollector
from onehub_collector.otlp_json import to_otlp_json

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
Transport = Literal["http-protobuf", "http-json", "grpc"]
TRANSPORTS: list[Transport] = ["http-protobuf", "http-json", "grpc"]

# (case, trace id, span id, parent id, why it is refused)
INVALID = [
    ("trace id of 8 bytes", b"\x01" * 8, None, b"", "trace id"),
    ("trace id of 15 bytes", b"\x01" * 15, None, b"", "trace id"),
    ("trace id of 17 bytes", b"\x01" * 17, None, b"", "trace id"),
    ("empty trace id", b"", None, b"", "trace id"),
    ("all-zero trace id", bytes(16), None, b"", "trace id"),
    ("span id of 3 bytes", None, b"\x02" * 3, b"", "span id"),
    ("span id of 7 bytes", None, b"\x02" * 7, b"", "span id"),
    ("span id of 9 bytes", None, b"\x02" * 9, b"", "span id"),
    ("empty span id", None, b"", b"", "span id"),
    ("all-zero span id", None, bytes(8), b"", "span id"),
    ("parent id of 5 bytes", None, None, b"\x03" * 5, "parent span id"),
    ("parent id of 9 bytes", None, None, b"\x03" * 9, "parent span id"),
]


async def _export(
    collector: RunningCollector, transport: Transport, request: ExportTraceServiceRequest
) -> ExportTraceServiceResponse:
    """Send over `transport`; the decoded Export response (a 200 / OK is asserted)."""
    if transport == "grpc":
        async with grpc.aio.insecure_channel(f"127.0.0.1:{collector.otlp_grpc_port}") as channel:
            export = channel.unary_unary(
                TRACE_EXPORT,
                request_serializer=ExportTraceServiceRequest.SerializeToString,
                response_deserializer=ExportTraceServiceResponse.FromString,
            )
            response: ExportTraceServiceResponse = await export(request, timeout=10)
            return response
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{collector.otlp_http_port}", timeout=10
    ) as client:
        if transport == "http-json":
            answer = await client.post(
                "/v1/traces",
                content=json.dumps(to_otlp_json(request)),
                headers={"Content-Type": "application/json"},
            )
            assert answer.status_code == 200, answer.text
            assert answer.headers["content-type"].startswith("application/json")
            body = answer.json()
            partial = body.get("partialSuccess", {})
            return ExportTraceServiceResponse(
                partial_success=ExportTracePartialSuccess(
                    rejected_spans=int(partial.get("rejectedSpans", 0)),
                    error_message=partial.get("errorMessage", ""),
                )
            )
        answer = await client.post(
            "/v1/traces",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert answer.status_code == 200, answer.text
        return ExportTraceServiceResponse.FromString(answer.content)


async def _stored_span_ids(api: httpx.AsyncClient, trace_id: bytes) -> set[str]:
    found = await api.get(f"/jaeger/api/traces/{trace_id.hex()}")
    if found.status_code == 404:
        return set()
    return {span["spanID"] for span in found.json()["data"][0]["spans"]}


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(("case", "trace_id", "span_id", "parent_id", "why"), INVALID)
async def test_invalid_ids_are_rejected_in_partial_success_and_the_rest_stored(
    collector: RunningCollector,
    api: httpx.AsyncClient,
    transport: Transport,
    case: str,
    trace_id: bytes | None,
    span_id: bytes | None,
    parent_id: bytes,
    why: str,
) -> None:
    good_trace, bad_trace = new_trace_id(), new_trace_id()
    start = now_us()
    good = SpanSpec("ids", "good", start, 10, good_trace)
    bad = SpanSpec(
        "ids",
        "bad",
        start,
        10,
        bad_trace if trace_id is None else trace_id,
        span_id=new_span_id() if span_id is None else span_id,
        parent_id=parent_id,
    )
    stored_before = collector.status()["store"]["spans_stored"]

    response = await _export(collector, transport, traces_request([good, bad]))
    await collector.flush()

    assert response.partial_success.rejected_spans == 1, case
    assert why in response.partial_success.error_message
    assert collector.status()["store"]["spans_stored"] == stored_before + 1
    assert await _stored_span_ids(api, good_trace) == {good.span_id.hex()}
    assert await _stored_span_ids(api, bad_trace) == set()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_valid_request_has_no_partial_success_and_zero_parent_is_a_root(
    collector: RunningCollector, api: httpx.AsyncClient, transport: Transport
) -> None:
    trace_id = new_trace_id()
    root = SpanSpec("ids", "root", now_us(), 10, trace_id, parent_id=bytes(8))
    child = SpanSpec("ids", "child", now_us(), 5, trace_id, parent_id=root.span_id)

    response = await _export(collector, transport, traces_request([root, child]))
    await collector.flush()

    assert not response.HasField("partial_success") or (
        response.partial_success.rejected_spans == 0
        and response.partial_success.error_message == ""
    )
    found = (await api.get(f"/jaeger/api/traces/{trace_id.hex()}")).json()["data"][0]
    references = {span["operationName"]: span["references"] for span in found["spans"]}
    assert references["root"] == []
    assert [ref["spanID"] for ref in references["child"]] == [root.span_id.hex()]
    roots = (await api.get("/jaeger/api/traces", params={"service": "ids"})).json()["data"]
    assert trace_id.hex() in {trace["traceID"] for trace in roots}


async def test_a_request_of_invalid_spans_only_is_acknowledged_with_all_rejected(
    collector: RunningCollector,
) -> None:
    spans = [SpanSpec("ids", f"bad {n}", now_us(), 1, bytes(16)) for n in range(3)]
    response = await _export(collector, "http-protobuf", traces_request(spans))
    assert response.partial_success.rejected_spans == 3
    assert response.partial_success.error_message.startswith("3 spans rejected")
