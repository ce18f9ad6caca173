"""When the collector is away, requests carry on; spans queue (bounded), drop (counted, warned
about once) and flow again when a receiver comes up; shutdown flushes to a live receiver."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager

import pytest

from onehub.gen.onehub.v1 import users_pb2, users_pb2_grpc
from onehub.telemetry import Telemetry, setup_telemetry
from onehub.telemetry.config import BatchSettings, TelemetryConfig

from .receiver import otlp_receiver, silent_receiver
from .support import start_user_server

QUEUE = 64


def config_for(address: str, *, delay_ms: int = 50) -> TelemetryConfig:
    return TelemetryConfig(
        otlp_endpoint=f"http://{address}",
        metrics_exporters=(),
        logs_exporters=(),
        otlp_timeout_ms=300,
        batch=BatchSettings(
            schedule_delay_ms=delay_ms,
            max_queue_size=QUEUE,
            max_export_batch_size=16,
            export_timeout_ms=300,
        ),
    )


@pytest.fixture
def telemetry_to() -> Iterator[list[Telemetry]]:
    """Telemetry objects a test made, shut down (briefly) at teardown whatever happened."""
    made: list[Telemetry] = []
    yield made
    for telemetry in made:
        telemetry.shutdown(timeout_s=0.5)


@asynccontextmanager
async def users() -> AsyncIterator[users_pb2_grpc.UserServiceAsyncStub]:
    server, channel, _ = await start_user_server()
    try:
        yield users_pb2_grpc.UserServiceStub(channel)
    finally:
        await channel.close(None)
        await server.stop(None)


async def timed_calls(stub: users_pb2_grpc.UserServiceAsyncStub, count: int) -> list[float]:
    """Make `count` GetUser calls; return each one's latency in seconds. All must succeed."""
    latencies = []
    for number in range(count):
        started = time.perf_counter()
        await stub.GetUser(users_pb2.GetUserRequest(id=f"u{number}"))
        latencies.append(time.perf_counter() - started)
    return latencies


def drop_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "onehub.telemetry" and "dropped" in record.getMessage()
    ]


async def wait_until(condition: Callable[[], object], timeout_s: float) -> None:
    """Poll a condition that another thread (the export thread) makes true."""

    def poll() -> None:
        deadline = time.monotonic() + timeout_s
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.02)

    await asyncio.to_thread(poll)


@pytest.mark.parametrize("receiver", ["dead", "stalling"])
async def test_requests_carry_on_and_drops_are_counted_and_warned_once(
    receiver: str,
    unused_port: int,
    telemetry_to: list[Telemetry],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="onehub.telemetry")
    with silent_receiver() as silent_port:
        port = unused_port if receiver == "dead" else silent_port
        telemetry = setup_telemetry(config_for(f"127.0.0.1:{port}"))
        telemetry_to.append(telemetry)
        [queue] = telemetry.span_queues
        async with users() as stub:
            latencies = await timed_calls(stub, 150)  # 3 spans each: far more than the queue
            assert queue.queued <= QUEUE
            await wait_until(lambda: drop_warnings(caplog), 5.0)
            await timed_calls(stub, 50)

    # Nothing waited on the collector: a call is a loopback round trip, not an export.
    assert sorted(latencies)[len(latencies) // 2] < 0.05
    assert max(latencies) < 0.5
    assert telemetry.dropped_spans > 0
    if receiver == "dead":  # refused at once: batches fail rather than pile up
        assert queue.export_failures > 0
    else:  # each export hangs to its deadline while the queue overflows
        assert queue.dropped_queue_full > 0
    [warning] = drop_warnings(caplog)  # rate-limited: once per 30 s
    assert "is http://127.0.0.1:" in warning


async def test_export_resumes_when_a_receiver_comes_up(
    unused_port: int, telemetry_to: list[Telemetry]
) -> None:
    telemetry = setup_telemetry(config_for(f"127.0.0.1:{unused_port}"))
    telemetry_to.append(telemetry)
    [queue] = telemetry.span_queues
    async with users() as stub:
        await timed_calls(stub, 5)
        await wait_until(lambda: queue.export_failures > 0, 5.0)
        assert queue.export_failures > 0

        with otlp_receiver(unused_port) as (receiver, bound):
            assert bound == unused_port
            await stub.GetUser(users_pb2.GetUserRequest(id="after"))
            names = await asyncio.to_thread(
                receiver.wait_for, lambda names: "GetUser" in names, 10.0
            )

    assert "onehub.v1.UserService/GetUser" in names


async def test_shutdown_flushes_the_last_spans_to_a_live_receiver(
    telemetry_to: list[Telemetry],
) -> None:
    with otlp_receiver() as (receiver, port):
        # A long delay: only shutdown's flush can deliver these spans in time.
        telemetry = setup_telemetry(config_for(f"127.0.0.1:{port}", delay_ms=60_000))
        telemetry_to.append(telemetry)
        async with users() as stub:
            await stub.GetUser(users_pb2.GetUserRequest(id="last"))
        assert receiver.span_names == []

        started = time.perf_counter()
        await asyncio.to_thread(telemetry.shutdown)
        elapsed = time.perf_counter() - started

        names = receiver.span_names
    assert sorted(names) == sorted(
        ["onehub.v1.UserService/GetUser", "onehub.v1.UserService/GetUser", "GetUser"]
    )
    assert elapsed < 2.0


async def test_shutdown_is_bounded_when_the_receiver_stalls(
    telemetry_to: list[Telemetry],
) -> None:
    with silent_receiver() as port:
        telemetry = setup_telemetry(config_for(f"127.0.0.1:{port}", delay_ms=60_000))
        async with users() as stub:
            await timed_calls(stub, 3)

        started = time.perf_counter()
        await asyncio.to_thread(telemetry.shutdown, 1.0)
        elapsed = time.perf_counter() - started

    assert elapsed < 1.5
