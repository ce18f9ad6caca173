"""Pipelines end to end: the attributes processor changes what is stored, the debug exporter
reports batches, and the otlp exporter chains one collector to another, in plaintext or TLS."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import httpx
import pytest
from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from collector_tests.conftest import loopback_config, now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from collector_tests.tls_material import TlsMaterial
from onehub_collector import RunningCollector, start_collector

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _chain_yaml(next_port: int) -> str:
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:0}}
      http: {{endpoint: 127.0.0.1:0}}
processors:
  batch: {{send_batch_size: 100, timeout: 10ms}}
  attributes/tag:
    actions:
      - {{key: deployment, action: insert, value: edge}}
      - {{key: http.route, action: update, value: /redacted}}
      - {{key: peer, action: upsert, from_attribute: http.route}}
      - {{key: password, action: delete}}
exporters:
  onehub_store: {{}}
  otlp/next: {{endpoint: "127.0.0.1:{next_port}", tls: {{insecure: true}}}}
  debug: {{verbosity: detailed}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [attributes/tag, batch],
              exporters: [onehub_store, otlp/next, debug]}}
"""


async def _post_and_flush(collector: RunningCollector, request: Message) -> None:
    """Send `request` to the collector's OTLP/HTTP receiver and wait until it is processed."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces",
            content=request.SerializeToString(),
            headers=PROTOBUF,
        )
    assert response.status_code == 200
    await collector.flush()


async def _tags_of_only_span(ui_port: int, trace_hex: str) -> dict[str, object]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ui_port}") as api:
        for _ in range(100):
            response = await api.get(f"/jaeger/api/traces/{trace_hex}")
            if response.status_code == 200:
                (span,) = response.json()["data"][0]["spans"]
                return {tag["key"]: tag["value"] for tag in span["tags"]}
            await asyncio.sleep(0.05)
    raise AssertionError(f"trace {trace_hex} never arrived")


async def test_forwarding_chains_to_a_second_collector_with_processed_attributes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="onehub_collector.debug")
    second = await start_collector(loopback_config(tmp_path / "second"))
    first = await start_collector(
        loopback_config(tmp_path / "first", _chain_yaml(second.otlp_grpc_port or 0))
    )
    try:
        trace_id = new_trace_id()
        request = traces_request(
            [
                SpanSpec(
                    "edge-svc",
                    "GET /login",
                    now_us(),
                    20,
                    trace_id,
                    attributes={"http.route": "/login", "password": "hunter2"},
                )
            ]
        )
        await _post_and_flush(first, request)

        expected = {"deployment": "edge", "http.route": "/redacted", "peer": "/redacted"}
        for collector in (first, second):
            tags = await _tags_of_only_span(collector.ui_port or 0, trace_id.hex())
            assert {key: tags.get(key) for key in expected} == expected
            assert "password" not in tags
        assert first.status()["forward"]["otlp/next"]["sent_items"] == 1
        debug_lines = [r.getMessage() for r in caplog.records if r.name == "onehub_collector.debug"]
        assert any("debug: traces: 1 items in 1 requests" in line for line in debug_lines)
        assert any(f"trace={trace_id.hex()}" in line for line in debug_lines)
    finally:
        await first.stop()
        await second.stop()


async def test_forwarding_to_a_dead_collector_never_blocks_local_storage(tmp_path: Path) -> None:
    # Port 9 (discard) on loopback has no listener: every forward attempt fails.
    config = dataclasses.replace(loopback_config(tmp_path, _chain_yaml(9)), shutdown_grace_s=0.5)
    collector = await start_collector(config)
    try:
        trace_id = new_trace_id()
        request = traces_request([SpanSpec("s", "op", now_us(), 1, trace_id)])
        await _post_and_flush(collector, request)
        await _tags_of_only_span(collector.ui_port or 0, trace_id.hex())
        assert collector.pipelines.pending_bytes() == 0
    finally:
        await collector.stop()


class _TraceSink(trace_service_pb2_grpc.TraceServiceServicer):
    """The next collector, reduced to what it received."""

    def __init__(self) -> None:
        self.trace_ids: list[bytes] = []

    async def Export(
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: object
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        self.trace_ids.extend(
            span.trace_id
            for resource in request.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        )
        return trace_service_pb2.ExportTraceServiceResponse()


@pytest.fixture
async def mutual_tls_sink(tls: TlsMaterial) -> AsyncIterator[tuple[_TraceSink, int]]:
    """An OTLP/gRPC trace receiver that speaks only TLS and wants a client certificate."""
    sink = _TraceSink()
    server = grpc.aio.server()
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(sink, server)  # type: ignore[no-untyped-call]  # generated without annotations
    credentials = grpc.ssl_server_credentials(
        [(tls.server_key.read_bytes(), tls.server_cert.read_bytes())],
        root_certificates=tls.ca.read_bytes(),
        require_client_auth=True,
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    await server.start()
    try:
        yield sink, port
    finally:
        await server.stop(None)


def _tls_chain_yaml(port: int, tls_settings: str) -> str:
    return f"""
receivers:
  otlp:
    protocols:
      http: {{endpoint: 127.0.0.1:0}}
processors:
  batch: {{send_batch_size: 100, timeout: 10ms}}
exporters:
  onehub_store: {{}}
  otlp/secure: {{endpoint: "localhost:{port}", tls: {tls_settings}}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [onehub_store, otlp/secure]}}
"""


async def _send_one_trace(collector: RunningCollector) -> bytes:
    trace_id = new_trace_id()
    await _post_and_flush(
        collector, traces_request([SpanSpec("edge-svc", "GET /", now_us(), 5, trace_id)])
    )
    return trace_id


async def test_forwarding_over_mutual_tls(
    tmp_path: Path, tls: TlsMaterial, mutual_tls_sink: tuple[_TraceSink, int]
) -> None:
    sink, port = mutual_tls_sink
    settings = (
        f"{{ca_file: '{tls.ca}', cert_file: '{tls.client_cert}', key_file: '{tls.client_key}'}}"
    )
    collector = await start_collector(loopback_config(tmp_path, _tls_chain_yaml(port, settings)))
    try:
        trace_id = await _send_one_trace(collector)
        for _ in range(200):
            if sink.trace_ids:
                break
            await asyncio.sleep(0.05)
        assert sink.trace_ids == [trace_id]
        assert collector.status()["forward"]["otlp/secure"]["sent_items"] == 1
    finally:
        await collector.stop()


@pytest.mark.parametrize(
    "settings",
    [
        # A client certificate but no ca_file: the system's roots do not know the test CA.
        pytest.param(
            "{{cert_file: '{cert}', key_file: '{key}'}}", id="server-not-trusted-by-system-roots"
        ),
        pytest.param("{{ca_file: '{ca}'}}", id="no-client-certificate"),
        pytest.param("{{insecure: true}}", id="plaintext"),
    ],
)
async def test_forwarding_refuses_what_tls_should_refuse(
    tmp_path: Path, tls: TlsMaterial, mutual_tls_sink: tuple[_TraceSink, int], settings: str
) -> None:
    sink, port = mutual_tls_sink
    filled = settings.format(ca=tls.ca, cert=tls.client_cert, key=tls.client_key)
    yaml_text = _tls_chain_yaml(port, filled)
    config = dataclasses.replace(loopback_config(tmp_path, yaml_text), shutdown_grace_s=0.2)
    collector = await start_collector(config)
    try:
        await _send_one_trace(collector)
        await asyncio.sleep(1.0)  # several attempts, each refused at the handshake
        assert sink.trace_ids == []
        assert collector.status()["forward"]["otlp/secure"]["sent_items"] == 0
    finally:
        await collector.stop()
