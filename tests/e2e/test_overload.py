"""Overload of a real `onehub serve`: more requests at once than it admits are answered 503 with
`Retry-After` (gRPC UNAVAILABLE with a retry pushback), never a status that blames the client
(499 / CANCELLED) nor any other failure."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator

import grpc
import httpx
import pytest

from onehub.gen.onehub.v1 import topics_pb2, topics_pb2_grpc

from .processes import running_serve

ADMIN = (("onehubusername", "admin"), ("onehubpassword", "admin123"))
BUSY = "the server is busy: retry in a moment"
MAX_IN_FLIGHT = 8


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """One `onehub serve` admitting few requests at once, so overload is cheap to cause."""
    with running_serve(
        tmp_path_factory.mktemp("overload"), "--max-in-flight", str(MAX_IN_FLIGHT)
    ) as addresses:
        yield addresses


async def _many_http_calls(url: str, count: int) -> list[httpx.Response]:
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(
        base_url=url, auth=("admin", "admin123"), limits=limits, timeout=60
    ) as client:
        return await asyncio.gather(*(client.get("/api/v1/topics") for _ in range(count)))


def test_http_overload_is_503_with_retry_after(serve: tuple[str, str]) -> None:
    url, _ = serve
    responses = asyncio.run(_many_http_calls(url, 400))
    statuses = collections.Counter(response.status_code for response in responses)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[200] >= MAX_IN_FLIGHT, statuses
    assert statuses[503] > 0, statuses
    for response in responses:
        if response.status_code == 503:
            assert response.headers["retry-after"] == "1"
            assert response.json() == {"code": 14, "message": BUSY, "details": []}


async def _many_grpc_calls(target: str, count: int) -> list[tuple[grpc.StatusCode, str, str]]:
    async with grpc.aio.insecure_channel(target) as channel:
        topics = topics_pb2_grpc.TopicServiceStub(channel)

        async def one() -> tuple[grpc.StatusCode, str, str]:
            try:
                await topics.ListTopics(topics_pb2.ListTopicsRequest(), metadata=ADMIN, timeout=60)
            except grpc.aio.AioRpcError as error:
                pushback = dict(error.trailing_metadata() or ()).get("grpc-retry-pushback-ms", "")
                return error.code(), error.details() or "", str(pushback)
            return grpc.StatusCode.OK, "", ""

        return await asyncio.gather(*(one() for _ in range(count)))


def test_grpc_burst_is_never_cancelled_and_overload_is_unavailable(
    serve: tuple[str, str],
) -> None:
    # 2,000 calls at once on one connection: gRPC's core used to cancel those past its 1,000
    # pending calls (CANCELLED, which the gateway turned into 499).
    _, target = serve
    results = asyncio.run(_many_grpc_calls(target, 2000))
    codes = collections.Counter(code for code, _, _ in results)
    assert set(codes) <= {grpc.StatusCode.OK, grpc.StatusCode.UNAVAILABLE}, codes
    assert codes[grpc.StatusCode.OK] >= MAX_IN_FLIGHT, codes
    for code, message, pushback in results:
        if code == grpc.StatusCode.UNAVAILABLE:
            assert (message, pushback) == (BUSY, "1000")
