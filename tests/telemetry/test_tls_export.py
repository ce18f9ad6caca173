"""OneHub's own telemetry reaches a collector that only speaks TLS, with the CA the standard
variable names (in the environment handed to the config), over OTLP/gRPC and OTLP/HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from opentelemetry import trace

from collector_tests.conftest import loopback_config
from collector_tests.tls_material import make_tls_material
from onehub.telemetry import setup_telemetry, telemetry_config_from_env
from onehub_collector import start_collector
from onehub_collector.collector import RunningCollector

_TLS_TRACES_ONLY = """
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:0, tls: {tls}}}
      http: {{endpoint: 127.0.0.1:0, tls: {tls}}}
exporters:
  onehub_store: {{}}
service:
  pipelines:
    traces: {{receivers: [otlp], exporters: [onehub_store]}}
"""


async def tls_collector(directory: Path, tls_settings: str) -> RunningCollector:
    """A collector taking traces over OTLP/gRPC and OTLP/HTTP, both with `tls_settings`."""
    config = _TLS_TRACES_ONLY.format(tls=tls_settings)
    return await start_collector(loopback_config(directory, config))


async def assert_one_span_arrives(
    collector: RunningCollector, env: dict[str, str], span_name: str
) -> None:
    """Send one span with telemetry configured from `env`; the collector (stopped afterwards)
    must have received exactly it, and the exporter dropped nothing."""
    telemetry = setup_telemetry(telemetry_config_from_env(env, collector=None))
    try:
        with trace.get_tracer("t").start_as_current_span(span_name):
            pass
    finally:
        # Flushes the span; in a thread, since the collector serves on this event loop.
        await asyncio.to_thread(telemetry.shutdown)
    try:
        await collector.flush()
        assert collector.status()["received"]["traces"]["received_items"] == 1
        assert telemetry.dropped_spans == 0
    finally:
        await collector.stop()


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
async def test_spans_reach_a_tls_collector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, protocol: str
) -> None:
    tls = make_tls_material(tmp_path / "tls")
    files = f"{{cert_file: '{tls.server_cert}', key_file: '{tls.server_key}'}}"
    collector = await tls_collector(tmp_path / "collector", files)
    # Only the mapping handed over counts: the process environment's CA variables (here the
    # system's roots, which do not know this CA) neither replace nor add to it.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_CERTIFICATE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    port = collector.otlp_grpc_port if protocol == "grpc" else collector.otlp_http_port
    env = {
        "OTEL_EXPORTER_OTLP_CERTIFICATE": str(tls.ca),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"https://localhost:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    await assert_one_span_arrives(collector, env, "over-tls")


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
async def test_spans_reach_a_mutual_tls_collector_with_per_signal_files(
    tmp_path: Path, protocol: str
) -> None:
    tls = make_tls_material(tmp_path / "tls")
    files = (
        f"{{cert_file: '{tls.server_cert}', key_file: '{tls.server_key}', "
        f"client_ca_file: '{tls.ca}'}}"
    )
    collector = await tls_collector(tmp_path / "collector", files)
    if protocol == "grpc":
        endpoint = f"https://localhost:{collector.otlp_grpc_port}"
    else:
        endpoint = f"https://localhost:{collector.otlp_http_port}/v1/traces"
    env = {
        # Only the traces variables name this collector, its CA and the client's identity.
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": endpoint,
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": protocol,
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE": str(tls.ca),
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY": str(tls.client_key),
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE": str(tls.client_cert),
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
    await assert_one_span_arrives(collector, env, "over-mutual-tls")
