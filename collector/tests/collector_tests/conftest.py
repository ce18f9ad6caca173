"""Fixtures for the collector's tests: a real collector on loopback ports chosen by the OS, with
its store in the test's tmp_path, and clients for its OTLP/HTTP receiver and its query API."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from google.protobuf.message import Message

from collector_tests.dataset import Dataset, build
from collector_tests.tls_material import TlsMaterial, make_tls_material
from onehub_collector import CollectorConfig, RunningCollector, parse_config, start_collector

# The built-in pipeline's shape with a short batch timeout: tests still call flush().
TEST_PIPELINE = """
receivers:
  otlp:
    protocols:
      grpc: {endpoint: 127.0.0.1:0}
      http:
        endpoint: 127.0.0.1:0
        cors: {allowed_origins: ["http://localhost:*"]}
processors:
  memory_limiter: {limit_mib: 32}
  batch: {send_batch_size: 512, timeout: 20ms}
exporters:
  onehub_store: {}
service:
  pipelines:
    traces: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [onehub_store]}
    metrics: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [onehub_store]}
    logs: {receivers: [otlp], processors: [memory_limiter, batch], exporters: [onehub_store]}
"""

Send = Callable[[str, Message], Awaitable[None]]


def now_us() -> int:
    return time.time_ns() // 1000


def loopback_config(data_dir: Path, pipeline_yaml: str = TEST_PIPELINE) -> CollectorConfig:
    return CollectorConfig(
        otlp_grpc_addr="127.0.0.1:0",
        otlp_http_addr="127.0.0.1:0",
        ui_addr="127.0.0.1:0",
        data_dir=data_dir,
        pipeline=parse_config(pipeline_yaml, "test config"),
        shutdown_grace_s=5.0,
    )


@pytest.fixture
async def collector(tmp_path: Path) -> AsyncIterator[RunningCollector]:
    running = await start_collector(loopback_config(tmp_path / "collector"))
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def api(collector: RunningCollector) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the UI server (query API under /jaeger/api)."""
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{collector.ui_port}", timeout=10
    ) as client:
        yield client


@pytest.fixture
async def otlp_http(collector: RunningCollector) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{collector.otlp_http_port}", timeout=10
    ) as client:
        yield client


@pytest.fixture
def send(collector: RunningCollector, otlp_http: httpx.AsyncClient) -> Send:
    """POST a request to the OTLP/HTTP receiver as protobuf and wait until it is stored."""

    async def post(signal: str, request: Message) -> None:
        response = await otlp_http.post(
            f"/v1/{signal}",
            content=request.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert response.status_code == 200, response.text
        await collector.flush()

    return post


@pytest.fixture
async def data(send: Send) -> Dataset:
    """The known dataset (collector_tests/dataset.py), sent over OTLP/HTTP and stored."""
    dataset = build(now_us())
    await send("traces", dataset.traces)
    await send("logs", dataset.logs)
    return dataset


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A throw-away CA with server and client certificates (see tls_material.py)."""
    return make_tls_material(tmp_path_factory.mktemp("tls"))
