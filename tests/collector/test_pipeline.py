"""Pipelines end to end: the attributes processor changes what is stored, the debug exporter
reports batches, and the otlp exporter chains one collector to another."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from pathlib import Path

import httpx
import pytest

from onehub.collector import start_collector
from tests.collector.conftest import loopback_config, now_us
from tests.collector.otlp_builders import SpanSpec, new_trace_id, traces_request

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
    caplog.set_level(logging.INFO, logger="onehub.collector.debug")
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
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{first.otlp_http_port}/v1/traces",
                content=request.SerializeToString(),
                headers=PROTOBUF,
            )
        assert response.status_code == 200
        await first.flush()

        expected = {"deployment": "edge", "http.route": "/redacted", "peer": "/redacted"}
        for collector in (first, second):
            tags = await _tags_of_only_span(collector.ui_port or 0, trace_id.hex())
            assert {key: tags.get(key) for key in expected} == expected
            assert "password" not in tags
        assert first.status()["forward"]["otlp/next"]["sent_items"] == 1
        debug_lines = [r.getMessage() for r in caplog.records if r.name == "onehub.collector.debug"]
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
        async with httpx.AsyncClient() as client:
            response = await client.post(
                f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces",
                content=traces_request(
                    [SpanSpec("s", "op", now_us(), 1, trace_id)]
                ).SerializeToString(),
                headers=PROTOBUF,
            )
        assert response.status_code == 200
        await collector.flush()
        await _tags_of_only_span(collector.ui_port or 0, trace_id.hex())
        assert collector.pipelines.pending_bytes() == 0
    finally:
        await collector.stop()
