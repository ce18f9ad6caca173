"""The OpenTelemetry Python SDK's own OTLP exporters (gRPC and HTTP, traces, metrics and logs)
send to the receivers; what they sent is what the query API and the counters show."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import grpc
import httpx
import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogs
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
    OTLPMetricExporter as GrpcMetrics,
)
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpans
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogs
from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
    OTLPMetricExporter as HttpMetrics,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpans
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode, TraceFlags

from collector_tests.conftest import loopback_config
from collector_tests.tls_material import TlsMaterial
from onehub_collector import RunningCollector, start_collector


def _emit_trace(provider: TracerProvider) -> str:
    tracer = provider.get_tracer("sdk-test", "2.0")
    with tracer.start_as_current_span(
        "GET /topics", kind=SpanKind.SERVER, attributes={"http.route": "/topics"}
    ) as root:
        with tracer.start_as_current_span("SELECT topics", kind=SpanKind.CLIENT) as child:
            child.set_attribute("db.system", "sqlite")
            child.add_event("rows", {"count": 3})
            child.set_status(Status(StatusCode.ERROR, "disk on fire"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    provider.shutdown()
    return trace_id


def _emit_log(provider: LoggerProvider, trace_id_hex: str) -> None:
    from opentelemetry._logs import LogRecord, SeverityNumber

    provider.get_logger("sdk-test").emit(
        LogRecord(
            body="topic listed",
            severity_text="INFO",
            severity_number=SeverityNumber.INFO,
            trace_id=int(trace_id_hex, 16),
            span_id=0x1122334455667788,
            trace_flags=TraceFlags(1),
            attributes={"topic.count": 3},
        )
    )
    provider.shutdown()


def _emit_metric(provider: MeterProvider) -> None:
    provider.get_meter("sdk-test").create_counter("onehub.messages").add(5, {"route": "/x"})
    provider.shutdown()


async def _check_trace(api: httpx.AsyncClient, service: str, trace_id: str) -> None:
    response = await api.get(f"/jaeger/api/traces/{trace_id}")
    assert response.status_code == 200
    (trace,) = response.json()["data"]
    by_name = {span["operationName"]: span for span in trace["spans"]}
    assert set(by_name) == {"GET /topics", "SELECT topics"}
    child = by_name["SELECT topics"]
    tags = {tag["key"]: tag for tag in child["tags"]}
    assert tags["db.system"] == {"key": "db.system", "type": "string", "value": "sqlite"}
    assert tags["span.kind"]["value"] == "client"
    assert tags["error"] == {"key": "error", "type": "bool", "value": True}
    assert tags["otel.status_description"]["value"] == "disk on fire"
    assert tags["otel.scope.name"]["value"] == "sdk-test"
    assert child["references"] == [
        {"refType": "CHILD_OF", "traceID": trace_id, "spanID": by_name["GET /topics"]["spanID"]}
    ]
    assert child["logs"][0]["fields"][0] == {"key": "event", "type": "string", "value": "rows"}
    assert trace["processes"][child["processID"]]["serviceName"] == service


async def test_grpc_exporters_deliver_traces_logs_and_metrics(
    collector: RunningCollector, api: httpx.AsyncClient
) -> None:
    endpoint = f"127.0.0.1:{collector.otlp_grpc_port}"
    resource = Resource.create({"service.name": "sdk-grpc"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(GrpcSpans(endpoint=endpoint, insecure=True))
    )
    trace_id = await asyncio.to_thread(_emit_trace, tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(GrpcLogs(endpoint=endpoint, insecure=True))
    )
    await asyncio.to_thread(_emit_log, logger_provider, trace_id)
    reader = PeriodicExportingMetricReader(GrpcMetrics(endpoint=endpoint, insecure=True))
    await asyncio.to_thread(_emit_metric, MeterProvider([reader], resource=resource))
    await collector.flush()

    await _check_trace(api, "sdk-grpc", trace_id)
    logs = (await api.get(f"/jaeger/api/x/traces/{trace_id}/logs")).json()["data"]
    assert [(log["body"], log["severityText"], log["service"]) for log in logs] == [
        ("topic listed", "INFO", "sdk-grpc")
    ]
    assert logs[0]["attributes"] == {"topic.count": 3}
    status = (await api.get("/jaeger/api/x/status")).json()["data"]
    assert status["metrics"]["data_points"] == 1
    assert status["received"]["traces"]["received_items"] == 2


async def test_http_exporters_deliver_traces_logs_and_metrics(
    collector: RunningCollector, api: httpx.AsyncClient
) -> None:
    base = f"http://127.0.0.1:{collector.otlp_http_port}"
    resource = Resource.create({"service.name": "sdk-http"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(HttpSpans(endpoint=f"{base}/v1/traces")))
    trace_id = await asyncio.to_thread(_emit_trace, tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        SimpleLogRecordProcessor(HttpLogs(endpoint=f"{base}/v1/logs"))
    )
    await asyncio.to_thread(_emit_log, logger_provider, trace_id)
    reader = PeriodicExportingMetricReader(HttpMetrics(endpoint=f"{base}/v1/metrics"))
    await asyncio.to_thread(_emit_metric, MeterProvider([reader], resource=resource))
    await collector.flush()

    await _check_trace(api, "sdk-http", trace_id)
    logs = (await api.get(f"/jaeger/api/x/traces/{trace_id}/logs")).json()["data"]
    assert [log["spanID"] for log in logs] == ["1122334455667788"]
    assert (await api.get("/jaeger/api/x/status")).json()["data"]["metrics"]["data_points"] == 1


async def test_http_exporter_with_gzip_compression(
    collector: RunningCollector, api: httpx.AsyncClient
) -> None:
    from opentelemetry.exporter.otlp.proto.http import Compression

    exporter = HttpSpans(
        endpoint=f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces",
        compression=Compression.Gzip,
    )
    provider = TracerProvider(resource=Resource.create({"service.name": "sdk-gzip"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace_id = await asyncio.to_thread(_emit_trace, provider)
    await collector.flush()
    await _check_trace(api, "sdk-gzip", trace_id)


def _tls_pipeline(tls: TlsMaterial, *, mutual: bool) -> str:
    files = f"cert_file: '{tls.server_cert}', key_file: '{tls.server_key}'"
    if mutual:
        files += f", client_ca_file: '{tls.ca}'"
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:0, tls: {{{files}}}}}
      http: {{endpoint: 127.0.0.1:0, tls: {{{files}}}}}
processors:
  batch: {{send_batch_size: 512, timeout: 20ms}}
exporters:
  onehub_store: {{}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: [onehub_store]}}
"""


async def _received_traces(collector: RunningCollector) -> int:
    await collector.flush()
    return int(collector.status()["received"]["traces"]["received_items"])


@pytest.mark.parametrize("mutual", [False, True], ids=["tls", "mutual-tls"])
async def test_sdk_exporters_deliver_over_tls(
    tmp_path: Path, tls: TlsMaterial, mutual: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    # requests lets these variables override the session's CA file that the SDK's HTTP
    # exporter sets from certificate_file (a known requests behaviour); some machines set them.
    for variable in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(variable, raising=False)
    collector = await start_collector(loopback_config(tmp_path, _tls_pipeline(tls, mutual=mutual)))
    try:
        ca, cert, key = (path.read_bytes() for path in (tls.ca, tls.client_cert, tls.client_key))
        cert_path, key_path = str(tls.client_cert), str(tls.client_key)
        grpc_credentials = grpc.ssl_channel_credentials(
            ca, *((key, cert) if mutual else (None, None))
        )
        exporters = [
            GrpcSpans(
                endpoint=f"localhost:{collector.otlp_grpc_port}", credentials=grpc_credentials
            ),
            HttpSpans(
                endpoint=f"https://localhost:{collector.otlp_http_port}/v1/traces",
                certificate_file=str(tls.ca),
                client_certificate_file=cert_path if mutual else None,
                client_key_file=key_path if mutual else None,
            ),
        ]
        for exporter in exporters:
            provider = TracerProvider(resource=Resource.create({"service.name": "sdk-tls"}))
            provider.add_span_processor(SimpleSpanProcessor(exporter))
            await asyncio.to_thread(_emit_trace, provider)
        assert await _received_traces(collector) == 4
    finally:
        await collector.stop()


async def test_a_mutual_tls_receiver_refuses_clients_without_a_certificate(
    tmp_path: Path, tls: TlsMaterial
) -> None:
    collector = await start_collector(loopback_config(tmp_path, _tls_pipeline(tls, mutual=True)))
    try:
        credentials = grpc.ssl_channel_credentials(tls.ca.read_bytes())
        async with grpc.aio.secure_channel(
            f"localhost:{collector.otlp_grpc_port}", credentials
        ) as channel:
            export: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
            )
            with pytest.raises(grpc.aio.AioRpcError) as refused:
                await export(b"", timeout=5)
        assert refused.value.code() is grpc.StatusCode.UNAVAILABLE
        async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=tls.ca)) as client:
            with pytest.raises(httpx.TransportError):
                await client.post(
                    f"https://localhost:{collector.otlp_http_port}/v1/traces",
                    content=b"",
                    headers={"Content-Type": "application/x-protobuf"},
                )
        assert await _received_traces(collector) == 0
    finally:
        await collector.stop()
