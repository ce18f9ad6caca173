"""When the collector answers: with the store in the pipeline, only once the request is committed
(so it is readable the moment the sender has its 200), whatever the batch processor's timeout and
whatever other exporters share the pipeline; with `durable_ack: false` or without a store, once
admitted."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from collector_tests.conftest import loopback_config, now_us
from collector_tests.otlp_builders import SpanSpec, new_trace_id, traces_request
from onehub_collector import RunningCollector, start_collector

PROTOBUF = {"Content-Type": "application/x-protobuf"}


def _config(store: str, exporters: str) -> str:
    # A batch processor that, left alone, would hold requests for an hour.
    return f"""
receivers:
  otlp:
    protocols:
      grpc: {{endpoint: 127.0.0.1:0}}
      http: {{endpoint: 127.0.0.1:0}}
processors:
  batch: {{send_batch_size: 100000, timeout: 1h}}
exporters:
  onehub_store: {store}
  debug: {{}}
service:
  pipelines:
    traces: {{receivers: [otlp], processors: [batch], exporters: {exporters}}}
"""


@pytest.fixture
async def started() -> AsyncIterator[list[RunningCollector]]:
    running: list[RunningCollector] = []
    yield running
    for collector in running:
        await collector.stop()


async def _post_then_read(collector: RunningCollector) -> tuple[int, int]:
    """Send one trace; (the receiver's status, the query API's status right after it)."""
    trace_id = new_trace_id()
    body = traces_request([SpanSpec("acks", "op", now_us(), 10, trace_id)]).SerializeToString()
    async with httpx.AsyncClient(timeout=10) as client:
        posted = await client.post(
            f"http://127.0.0.1:{collector.otlp_http_port}/v1/traces", content=body, headers=PROTOBUF
        )
        found = await client.get(
            f"http://127.0.0.1:{collector.ui_port}/jaeger/api/traces/{trace_id.hex()}"
        )
    return posted.status_code, found.status_code


@pytest.mark.parametrize(
    "exporters", ["[onehub_store]", "[onehub_store, debug]", "[debug, onehub_store]"]
)
async def test_answered_once_committed_whatever_the_batch_timeout_and_other_exporters(
    tmp_path: Path, started: list[RunningCollector], exporters: str
) -> None:
    collector = await start_collector(loopback_config(tmp_path, _config("{}", exporters)))
    started.append(collector)
    for _ in range(3):
        assert await _post_then_read(collector) == (200, 200)


async def test_durable_ack_false_answers_on_admission(
    tmp_path: Path, started: list[RunningCollector]
) -> None:
    config = _config("{durable_ack: false}", "[onehub_store]")
    collector = await start_collector(loopback_config(tmp_path, config))
    started.append(collector)
    # Answered while the batch processor still holds it: not readable yet.
    assert await _post_then_read(collector) == (200, 404)


async def test_a_pipeline_without_the_store_answers_on_admission(
    tmp_path: Path, started: list[RunningCollector]
) -> None:
    collector = await start_collector(loopback_config(tmp_path, _config("{}", "[debug]")))
    started.append(collector)
    assert await _post_then_read(collector) == (200, 404)
