"""OTLP receivers at their edges: hand-written OTLP/JSON per the specification, gzip, chunked
bodies, CORS, and every refusal (garbage, oversized, wrong type, full pipeline) with the
status the OTLP specification gives it, after which the collector still works."""

from __future__ import annotations

import asyncio
import gzip
import json
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import status_pb2  # type: ignore[import-untyped]
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collector_tests.conftest import loopback_config, now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector import RunningCollector, start_collector

TRACE_EXPORT = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _json_request(trace_hex: str, span_hex: str, start_ns: int) -> dict[str, object]:
    """An OTLP/JSON body as the specification writes it: hex ids, int64 as strings, enum
    numbers, lowerCamelCase keys, plus a field this receiver does not know."""
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]
                },
                "scopeSpans": [
                    {
                        "scope": {"name": "handwritten", "version": "0.1"},
                        "spans": [
                            {
                                "traceId": trace_hex,
                                "spanId": span_hex,
                                "parentSpanId": "",
                                "name": "POST /json",
                                "kind": 2,
                                "startTimeUnixNano": str(start_ns),
                                "endTimeUnixNano": str(start_ns + 1_500_000),
                                "attributes": [
                                    {"key": "http.status_code", "value": {"intValue": "201"}},
                                    {"key": "ok", "value": {"boolValue": True}},
                                    {"key": "ratio", "value": {"doubleValue": 0.5}},
                                ],
                                "status": {"code": 2, "message": "boom"},
                                "someFutureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }


async def test_handwritten_otlp_json_is_stored_as_sent(
    collector: RunningCollector, otlp_http: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    trace_hex, span_hex = new_trace_id().hex(), "0af7651916cd43dd"
    start_ns = now_us() * 1000
    response = await otlp_http.post("/v1/traces", json=_json_request(trace_hex, span_hex, start_ns))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {}
    await collector.flush()

    (trace,) = (await api.get(f"/jaeger/api/traces/{trace_hex}")).json()["data"]
    (span,) = trace["spans"]
    assert (span["spanID"], span["operationName"], span["duration"]) == (
        span_hex,
        "POST /json",
        1500,
    )
    assert span["startTime"] == start_ns // 1000
    tags = {tag["key"]: (tag["type"], tag["value"]) for tag in span["tags"]}
    assert tags["http.status_code"] == ("int64", 201)
    assert tags["ok"] == ("bool", True)
    assert tags["ratio"] == ("float64", 0.5)
    assert tags["span.kind"] == ("string", "server")
    assert tags["otel.status_code"] == ("string", "ERROR")


async def test_gzip_and_chunked_bodies(
    collector: RunningCollector, otlp_http: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    trace_id = new_trace_id()
    body = traces_request(
        [SpanSpec("gz-svc", "zipped", now_us(), 10, trace_id)]
    ).SerializeToString()

    async def chunks() -> AsyncIterator[bytes]:
        compressed = gzip.compress(body)
        for start in range(0, len(compressed), 7):
            yield compressed[start : start + 7]

    response = await otlp_http.post(
        "/v1/traces", content=chunks(), headers={**PROTOBUF, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    await collector.flush()
    assert (await api.get(f"/jaeger/api/traces/{trace_id.hex()}")).status_code == 200


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        (b"\xff\xfe\xfd not protobuf", PROTOBUF, 400),
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            {"Content-Type": "application/json"},
            400,
        ),
        (b'{"resourceSpans": "nope"}', {"Content-Type": "application/json"}, 400),
        (b"\x1f\x8b garbage", {**PROTOBUF, "Content-Encoding": "gzip"}, 400),
        (b"x", {**PROTOBUF, "Content-Encoding": "br"}, 400),
        (b"x", {"Content-Type": "text/plain"}, 415),
    ],
)
async def test_bad_bodies_are_refused_and_the_collector_lives_on(
    otlp_http: httpx.AsyncClient,
    content: bytes,
    headers: dict[str, str],
    status: int,
) -> None:
    response = await otlp_http.post("/v1/traces", content=content, headers=headers)
    assert response.status_code == status
    if headers["Content-Type"] == "application/json":
        assert response.json()["code"] == 3  # INVALID_ARGUMENT, as google.rpc.Status in JSON
    elif status == 400:
        error = status_pb2.Status.FromString(response.content)
        assert error.code == 3
        assert error.message
    trace_id = new_trace_id()
    ok = await otlp_http.post(
        "/v1/traces",
        content=traces_request(
            [SpanSpec("alive", "still", now_us(), 5, trace_id)]
        ).SerializeToString(),
        headers=PROTOBUF,
    )
    assert ok.status_code == 200


SMALL_LIMITS = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0, max_recv_msg_size_mib: 1}
      http: {endpoint: 127.0.0.1:0, max_request_body_size: 100000}
processors:
  memory_limiter: {limit_mib: 1}
  batch: {send_batch_size: 1000000, timeout: 1h}
exporters:
  # Acknowledged on admission, so requests pile up in the batch processor until flush().
  onehub_store: {durable_ack: false}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [onehub_store]}
"""


@pytest.fixture
async def small(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    """A collector with tiny limits whose batch processor never flushes on its own, so the
    pipeline fills up deterministically."""
    running = await start_collector(loopback_config(tmp_path, SMALL_LIMITS))
    try:
        yield running
    finally:
        await running.stop()


def _request_of_size(approx_bytes: int) -> bytes:
    spans = [
        SpanSpec("big", "s", now_us(), 1, new_trace_id(), attributes={"pad": "x" * 1000})
        for _ in range(max(1, approx_bytes // 1100))
    ]
    return traces_request(spans).SerializeToString()


async def test_http_oversized_body_is_413_plain_and_gzip(small: RunningCollector) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{small.otlp_http_port}") as client:
        big = _request_of_size(200_000)
        plain = await client.post("/v1/traces", content=big, headers=PROTOBUF)
        assert plain.status_code == 413
        # Compressed it is small, inflated it is not: refused while inflating.
        bomb = gzip.compress(b"\0" * 5_000_000)
        zipped = await client.post(
            "/v1/traces", content=bomb, headers={**PROTOBUF, "Content-Encoding": "gzip"}
        )
        assert zipped.status_code == 413


async def test_full_pipeline_answers_retryable_signals(small: RunningCollector) -> None:
    body = _request_of_size(90_000)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{small.otlp_http_port}") as client:
        statuses = []
        for _ in range(15):  # 15 x 90 kB > the 1 MiB limit
            response = await client.post("/v1/traces", content=body, headers=PROTOBUF)
            statuses.append(response.status_code)
        assert statuses[0] == 200
        assert statuses[-1] == 503
        refused = await client.post("/v1/traces", content=body, headers=PROTOBUF)
        assert refused.headers["Retry-After"] == "1"
    async with grpc.aio.insecure_channel(f"127.0.0.1:{small.otlp_grpc_port}") as channel:
        export: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(TRACE_EXPORT)
        with pytest.raises(grpc.aio.AioRpcError) as failure:
            await export(body)
        assert failure.value.code() == grpc.StatusCode.UNAVAILABLE
    assert small.pipelines.pending_bytes() <= 1024 * 1024 + len(body)
    # Once the batch goes out, the pipeline takes requests again.
    await small.flush()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{small.otlp_http_port}") as client:
        assert (await client.post("/v1/traces", content=body, headers=PROTOBUF)).status_code == 200


async def test_full_pipeline_holds_a_request_until_the_store_frees_room(
    small: RunningCollector,
) -> None:
    body = _request_of_size(90_000)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{small.otlp_http_port}") as client:
        while small.pipelines.pending_bytes() + len(body) <= 1024 * 1024:
            response = await client.post("/v1/traces", content=body, headers=PROTOBUF)
            assert response.status_code == 200
        # Full now: this request waits (up to ROOM_WAIT_S) instead of being refused at once...
        waiting = asyncio.create_task(client.post("/v1/traces", content=body, headers=PROTOBUF))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await small.flush()  # ...and is taken when the store has written the batch.
        assert (await waiting).status_code == 200


async def test_grpc_garbage_and_oversized(small: RunningCollector) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{small.otlp_grpc_port}") as channel:
        export: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(TRACE_EXPORT)
        with pytest.raises(grpc.aio.AioRpcError) as garbage:
            await export(b"\xff\xff\xff\xff garbage")
        assert garbage.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as oversized:
            await export(_request_of_size(1_500_000))
        assert oversized.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        small_request = traces_request([SpanSpec("ok", "fine", now_us(), 1, new_trace_id())])
        reply = await export(small_request.SerializeToString())
        assert reply == b""
        unimplemented: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
            "/opentelemetry.proto.collector.logs.v1.LogsService/Export"
        )
        with pytest.raises(grpc.aio.AioRpcError) as no_logs:
            await unimplemented(b"")
        assert no_logs.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_cors_preflight_and_simple_request(otlp_http: httpx.AsyncClient) -> None:
    preflight = await otlp_http.options(
        "/v1/traces",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    refused = await otlp_http.options(
        "/v1/traces",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert refused.status_code == 400
    posted = await otlp_http.post(
        "/v1/traces",
        content=json.dumps({"resourceSpans": []}),
        headers={"Content-Type": "application/json", "Origin": "http://localhost:5173"},
    )
    assert posted.status_code == 200
    assert posted.headers["access-control-allow-origin"] == "http://localhost:5173"


async def test_empty_request_is_accepted(otlp_http: httpx.AsyncClient) -> None:
    response = await otlp_http.post(
        "/v1/traces", content=ExportTraceServiceRequest().SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 200
