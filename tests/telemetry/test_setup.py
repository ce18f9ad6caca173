"""setup_telemetry: providers, exporters, resource, the disabled path, globals and shutdown."""

from __future__ import annotations

import time

from opentelemetry import metrics, propagate, trace
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
    OTLPSpanExporter as GrpcSpanExporter,
)
from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
    OTLPSpanExporter as HttpSpanExporter,
)
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from onehub.telemetry import (
    grpc_client_interceptors,
    grpc_server_interceptors,
    setup_telemetry,
    telemetry_config_from_env,
)
from onehub.telemetry.compat.otlp_exporter import PreEncodedSpanExporter
from onehub.telemetry.exporters import span_exporters
from onehub.telemetry.testing import in_memory_telemetry


def test_resource_is_detected_and_merged_with_the_environment() -> None:
    config = telemetry_config_from_env(
        {
            "OTEL_SERVICE_NAME": "hub-a",
            "OTEL_RESOURCE_ATTRIBUTES": "service.name=ignored,service.version=0.0.1,team=chat",
        },
        collector="none",
    )
    telemetry = setup_telemetry(config)
    try:
        assert telemetry.resource is not None
        attributes = telemetry.resource.attributes
        assert attributes["service.name"] == "hub-a"  # OTEL_SERVICE_NAME wins
        assert attributes["service.version"] == "0.0.1"  # env beats the detected version
        assert attributes["team"] == "chat"
        assert attributes["telemetry.sdk.language"] == "python"
        assert attributes["host.name"]
        assert isinstance(attributes["process.pid"], int)
        assert "process.command_line" not in attributes  # may hold a database password
    finally:
        telemetry.shutdown()


def test_service_name_from_resource_attributes_then_default() -> None:
    named = setup_telemetry(
        telemetry_config_from_env(
            {"OTEL_RESOURCE_ATTRIBUTES": "service.name=onehub.backend"}, collector="none"
        )
    )
    named.shutdown()
    default = setup_telemetry(telemetry_config_from_env({}, collector="none"))
    default.shutdown()

    assert named.resource is not None
    assert default.resource is not None
    assert named.resource.attributes["service.name"] == "onehub.backend"
    assert default.resource.attributes["service.name"] == "onehub"


def test_exporters_follow_the_config() -> None:
    grpc_config = telemetry_config_from_env(
        {"OTEL_TRACES_EXPORTER": "otlp,console"}, collector=None
    )
    http_config = telemetry_config_from_env(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, collector=None
    )
    none_config = telemetry_config_from_env({"OTEL_TRACES_EXPORTER": "none"}, collector=None)

    grpc_exporters = span_exporters(grpc_config)
    http_exporters = span_exporters(http_config)
    # The SDK's OTLP/gRPC exporter, subclassed to send pre-encoded batches.
    assert [type(e) for e in grpc_exporters] == [PreEncodedSpanExporter, ConsoleSpanExporter]
    assert isinstance(grpc_exporters[0], GrpcSpanExporter)
    assert [type(e) for e in http_exporters] == [HttpSpanExporter]
    assert span_exporters(none_config) == []
    for exporter in (*grpc_exporters, *http_exporters):
        exporter.shutdown()


def test_start_up_does_not_wait_for_an_absent_collector(unused_port: int) -> None:
    config = telemetry_config_from_env({}, collector=f"127.0.0.1:{unused_port}")

    started = time.perf_counter()
    telemetry = setup_telemetry(config)
    elapsed = time.perf_counter() - started
    telemetry.shutdown(timeout_s=0.5)

    assert elapsed < 1.0


def test_disabled_is_no_op_everywhere() -> None:
    config = telemetry_config_from_env({"OTEL_SDK_DISABLED": "true"}, collector=None)

    telemetry = setup_telemetry(config)

    assert telemetry.disabled
    assert telemetry.tracer_provider is None
    assert telemetry.dropped_spans == 0
    span = trace.get_tracer("t").start_span("ignored")
    assert not span.is_recording()
    assert grpc_server_interceptors(telemetry) == []
    assert grpc_client_interceptors(telemetry) == []
    telemetry.shutdown()
    telemetry.shutdown()


def test_a_new_telemetry_takes_over_tracers_and_instruments_handed_out_earlier() -> None:
    tracer = trace.get_tracer("early")
    counter = metrics.get_meter("early").create_counter("early.things")
    first = in_memory_telemetry()
    with tracer.start_as_current_span("one"):
        counter.add(1)
    first.shutdown()
    second = in_memory_telemetry()
    try:
        with tracer.start_as_current_span("two"):
            counter.add(5)

        assert [span.name for span in first.spans()] == ["one"]
        assert [span.name for span in second.spans()] == ["two"]
        [point] = second.metrics()["early.things"].data.data_points
        assert point.value == 5  # type: ignore[union-attr]  # a Sum's point
    finally:
        second.shutdown()


def test_after_shutdown_spans_go_nowhere_and_shutdown_is_idempotent() -> None:
    captured = in_memory_telemetry()
    captured.shutdown()
    captured.shutdown()

    span = trace.get_tracer("late").start_span("late")
    span.end()

    assert not span.is_recording()
    assert list(captured.spans()) == []


def test_w3c_trace_context_and_baggage_propagators() -> None:
    captured = in_memory_telemetry()
    try:
        fields = propagate.get_global_textmap().fields
        assert {"traceparent", "tracestate", "baggage"} <= set(fields)
    finally:
        captured.shutdown()
