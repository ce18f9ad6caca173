"""The standard OTLP exporter variables, generic and per signal, as the OpenTelemetry
configuration rules say: what each one changes, for which signal, and what reaches the wire."""

from __future__ import annotations

import gzip
import http.server
import threading
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry.context import attach, detach

from onehub.telemetry import TelemetryConfigError, setup_telemetry, telemetry_config_from_env
from onehub.telemetry.config import SIGNALS, OtlpTarget, Signal

NAMES = (
    "ENDPOINT",
    "HEADERS",
    "PROTOCOL",
    "CERTIFICATE",
    "CLIENT_KEY",
    "CLIENT_CERTIFICATE",
    "TIMEOUT",
    "COMPRESSION",
    "INSECURE",
)


@pytest.fixture
def pem(tmp_path: Path) -> str:
    # The config checks that the file is there; the exporter reads it when it connects.
    path = tmp_path / "some.pem"
    path.write_text("-----BEGIN CERTIFICATE-----\n")
    return str(path)


def targets(env: dict[str, str], collector: str | None = None) -> dict[Signal, OtlpTarget]:
    config = telemetry_config_from_env(env, collector=collector)
    return {signal: config.otlp_target(signal) for signal in SIGNALS}


# --- Each per-signal variable changes its own signal and no other -----------------------------

# A scheme-less gRPC endpoint, so that INSECURE decides something too.
BASE = {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector.example:4317"}


def _sample(name: str, pem: str) -> str:
    return {
        "ENDPOINT": "http://signal.example:1234",
        "HEADERS": "x-tenant=blue",
        "PROTOCOL": "http/protobuf",
        "CERTIFICATE": pem,
        "CLIENT_KEY": pem,
        "CLIENT_CERTIFICATE": pem,
        "TIMEOUT": "1234",
        "COMPRESSION": "gzip",
        "INSECURE": "true",
    }[name]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("signal", SIGNALS)
def test_each_per_signal_variable_changes_that_signal_only(
    signal: Signal, name: str, pem: str
) -> None:
    variable = f"OTEL_EXPORTER_OTLP_{signal.upper()}_{name}"
    # OTLP/HTTP needs a scheme on the endpoint it inherits.
    base = (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector.example:4317"}
        if name == "PROTOCOL"
        else BASE
    )
    before = targets(base)
    after = targets({**base, variable: _sample(name, pem)})

    assert after[signal] != before[signal], f"{variable} changed nothing"
    for other in SIGNALS:
        if other != signal:
            assert after[other] == before[other], f"{variable} changed {other} too"


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("ENDPOINT", "PROTOCOL")])
def test_each_generic_variable_changes_every_signal(name: str, pem: str) -> None:
    variable = f"OTEL_EXPORTER_OTLP_{name}"
    before = targets(BASE)
    after = targets({**BASE, variable: _sample(name, pem)})

    for signal in SIGNALS:
        assert after[signal] != before[signal], f"{variable} left {signal} alone"


# --- What each variable means -------------------------------------------------------------------


@dataclass
class Row:
    env: dict[str, str]
    signal: Signal
    expected: dict[str, Any] = field(default_factory=dict)


ROWS = {
    "generic http endpoint gets the signal path": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.example:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        },
        "traces",
        {"url": "http://c.example:4318/v1/traces", "protocol": "http/protobuf"},
    ),
    "generic http endpoint with a base path": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example/otlp/",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        },
        "metrics",
        {"url": "https://c.example/otlp/v1/metrics"},
    ),
    "per-signal http endpoint is used as it is": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.example:4318",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t.example:9999/custom/spans",
        },
        "traces",
        {"url": "http://t.example:9999/custom/spans"},
    ),
    "per-signal http endpoint without a path posts to the root": Row(
        {
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT": "http://l.example:9999",
        },
        "logs",
        {"url": "http://l.example:9999/", "protocol": "http/protobuf"},
    ),
    "per-signal grpc endpoint": Row(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t.example:4317"},
        "traces",
        {"url": "http://t.example:4317", "protocol": "grpc", "insecure": True},
    ),
    "a signal switched to http without endpoints goes to port 4318": Row(
        {"OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/protobuf"},
        "metrics",
        {"url": "http://127.0.0.1:4318/v1/metrics", "protocol": "http/protobuf"},
    ),
    "a signal switched to http keeps the generic endpoint given": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.example:4317",
            "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL": "http/protobuf",
        },
        "logs",
        {"url": "http://c.example:4317/v1/logs"},
    ),
    "per-signal headers replace the generic ones": Row(
        {
            "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "c=3%204",
        },
        "traces",
        {"headers": {"c": "3 4"}},
    ),
    "generic headers for the other signals": Row(
        {
            "OTEL_EXPORTER_OTLP_HEADERS": "a=1,b=2",
            "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "c=3",
        },
        "metrics",
        {"headers": {"a": "1", "b": "2"}},
    ),
    "per-signal timeout": Row(
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "1000", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "250"},
        "metrics",
        {"timeout_ms": 250},
    ),
    "per-signal compression none beats generic gzip": Row(
        {"OTEL_EXPORTER_OTLP_COMPRESSION": "gzip", "OTEL_EXPORTER_OTLP_LOGS_COMPRESSION": "none"},
        "logs",
        {"gzip": False},
    ),
    "a scheme-less grpc endpoint uses TLS by default": Row(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "c.example:4317"},
        "traces",
        {"url": "c.example:4317", "insecure": False},
    ),
    "INSECURE makes a scheme-less grpc endpoint plaintext": Row(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "c.example:4317", "OTEL_EXPORTER_OTLP_INSECURE": "true"},
        "traces",
        {"insecure": True},
    ),
    "https wins over INSECURE": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "https://c.example:4317",
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        },
        "traces",
        {"insecure": False},
    ),
    "http wins over INSECURE=false": Row(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c.example:4317",
            "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "false",
        },
        "traces",
        {"insecure": True},
    ),
}


@pytest.mark.parametrize("row", ROWS.values(), ids=ROWS.keys())
def test_what_each_variable_means(row: Row) -> None:
    target = targets(row.env)[row.signal]
    for attribute, value in row.expected.items():
        assert getattr(target, attribute) == value, attribute


def test_tls_files_per_signal_win_over_the_generic_ones(tmp_path: Path) -> None:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "key", "cert", "tca", "tkey")}
    for path in files.values():
        path.write_text("pem")
    env = {
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(files["ca"]),
        "OTEL_EXPORTER_OTLP_CLIENT_KEY": str(files["key"]),
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE": str(files["cert"]),
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": str(files["tca"]),
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": str(files["tkey"]),
    }
    found = targets(env)

    traces = (found["traces"].certificate, found["traces"].client_key)
    assert traces == (str(files["tca"]), str(files["tkey"]))
    assert found["traces"].client_certificate == str(files["cert"])
    metrics = found["metrics"]
    assert (metrics.certificate, metrics.client_key, metrics.client_certificate) == (
        str(files["ca"]),
        str(files["key"]),
        str(files["cert"]),
    )


def test_the_collector_flag_wins_over_per_signal_endpoints() -> None:
    env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t.example:4318/x",
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/protobuf",
    }
    found = targets(env, collector="jaeger.example:4317")
    assert (found["traces"].url, found["traces"].protocol) == ("http://jaeger.example:4317", "grpc")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "not a url"),
        ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "http/json"),
        ("OTEL_EXPORTER_OTLP_LOGS_TIMEOUT", "-5"),
        ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "zstd"),
        ("OTEL_EXPORTER_OTLP_TRACES_INSECURE", "maybe"),
        ("OTEL_EXPORTER_OTLP_INSECURE", "yes please"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "no-equals-sign"),
        ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/nowhere/ca.pem"),
        ("OTEL_EXPORTER_OTLP_METRICS_CLIENT_KEY", "/nowhere/key.pem"),
        ("OTEL_EXPORTER_OTLP_LOGS_CLIENT_CERTIFICATE", "/nowhere/cert.pem"),
        ("OTEL_PROPAGATORS", "tracecontext,carrier-pigeon"),
    ],
)
def test_bad_values_are_refused_at_start_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(TelemetryConfigError, match=f"^{variable}: "):
        telemetry_config_from_env({variable: value}, collector=None)


def test_an_unknown_propagator_names_the_ones_installed() -> None:
    with pytest.raises(TelemetryConfigError) as raised:
        telemetry_config_from_env({"OTEL_PROPAGATORS": "b3"}, collector=None)
    assert str(raised.value).startswith("OTEL_PROPAGATORS: 'b3' is not one of ")
    assert "baggage" in str(raised.value)
    assert "tracecontext" in str(raised.value)


# --- Propagators, service name and resource attributes, as a peer sees them --------------------


@pytest.mark.parametrize(
    ("value", "headers"),
    [
        ("", {"traceparent", "baggage"}),
        ("tracecontext", {"traceparent"}),
        ("baggage", {"baggage"}),
        ("none", set()),
    ],
)
def test_propagators_decide_the_headers_sent(value: str, headers: set[str]) -> None:
    env = {"OTEL_PROPAGATORS": value, "OTEL_SDK_DISABLED": "false"}
    env |= {f"OTEL_{signal.upper()}_EXPORTER": "none" for signal in SIGNALS}
    telemetry = setup_telemetry(telemetry_config_from_env(env, collector=None))
    token = attach(baggage.set_baggage("tenant", "blue"))
    try:
        with trace.get_tracer("t").start_as_current_span("outgoing"):
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
    finally:
        detach(token)
        telemetry.shutdown(timeout_s=1)
    assert set(carrier) == headers


# --- What reaches the wire ----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class _Recorder(http.server.BaseHTTPRequestHandler):
    received: list[Received]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {key.lower(): value for key, value in self.headers.items()}
        self.received.append(Received(self.path, headers, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def http_receiver() -> Iterator[tuple[list[Received], int]]:
    received: list[Received] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield received, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _send_one_span_and_metrics(env: dict[str, str]) -> None:
    env = {**env, "OTEL_LOGS_EXPORTER": "none"}
    telemetry = setup_telemetry(telemetry_config_from_env(env, collector=None))
    with trace.get_tracer("t").start_as_current_span("on-the-wire"):
        pass
    telemetry.shutdown(timeout_s=10)  # flushes spans and the last metrics


def test_http_exporters_post_where_the_variables_say() -> None:
    with http_receiver() as (received, port):
        _send_one_span_and_metrics(
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}/base",
                "OTEL_EXPORTER_OTLP_HEADERS": "x-who=generic",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"http://127.0.0.1:{port}/exact/spans",
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-who=traces",
                "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION": "gzip",
            }
        )
    by_path = {request.path: request for request in received}
    assert set(by_path) == {"/exact/spans", "/base/v1/metrics"}
    spans = by_path["/exact/spans"]
    assert (spans.headers["x-who"], spans.headers.get("content-encoding")) == ("traces", "gzip")
    assert b"on-the-wire" in gzip.decompress(spans.body)
    metrics = by_path["/base/v1/metrics"]
    assert (metrics.headers["x-who"], metrics.headers.get("content-encoding")) == ("generic", None)


@contextmanager
def grpc_receiver() -> Iterator[tuple[list[tuple[str, dict[str, str]]], int]]:
    """Any unary call: records the method and metadata, answers an empty message."""
    calls: list[tuple[str, dict[str, str]]] = []

    class Handler(grpc.GenericRpcHandler):
        def service(self, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
            method = str(details.method)  # type: ignore[attr-defined]  # grpc's stubs omit it

            def answer(_request: bytes, context: grpc.ServicerContext) -> bytes:
                calls.append((method, dict(context.invocation_metadata())))  # type: ignore[arg-type]  # str pairs here
                return b""

            return grpc.unary_unary_rpc_method_handler(answer)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), handlers=[Handler()])
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield calls, port
    finally:
        server.stop(None)


def test_grpc_exporters_call_where_the_variables_say() -> None:
    with grpc_receiver() as (generic_calls, generic_port), grpc_receiver() as (traces_calls, port):
        _send_one_span_and_metrics(
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{generic_port}",
                "OTEL_EXPORTER_OTLP_HEADERS": "x-who=generic",
                # Scheme-less: plaintext only because INSECURE says so.
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"127.0.0.1:{port}",
                "OTEL_EXPORTER_OTLP_TRACES_INSECURE": "true",
                "OTEL_EXPORTER_OTLP_TRACES_HEADERS": "x-who=traces",
            }
        )
    assert [(method, meta["x-who"]) for method, meta in traces_calls] == [
        ("/opentelemetry.proto.collector.trace.v1.TraceService/Export", "traces")
    ]
    assert {(method, meta["x-who"]) for method, meta in generic_calls} == {
        ("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export", "generic")
    }


def test_service_name_and_resource_attributes_reach_the_receiver() -> None:
    with http_receiver() as (received, port):
        _send_one_span_and_metrics(
            {
                "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "OTEL_METRICS_EXPORTER": "none",
                "OTEL_SERVICE_NAME": "hub-west",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging%20two",
            }
        )
    (spans,) = received
    assert b"hub-west" in spans.body
    assert b"staging two" in spans.body
