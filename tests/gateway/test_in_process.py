"""In-process dispatch through OneHub's own server interceptors: admission control and error
mapping answer a REST client as they do over the network hop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf.message import Message

from onehub.gen.onehub.v1 import topics_pb2
from onehub.transport.gateway import LocalGrpcServer, create_gateway_app
from onehub.transport.grpc.admission import AdmissionInterceptor
from onehub.transport.grpc.errors import INTERNAL_ERROR_MESSAGE
from onehub.transport.grpc.interceptors import ErrorMappingInterceptor

from .conftest import ONEHUB_SERVICES, RecordingBackend


@pytest.fixture
async def client() -> AsyncIterator[tuple[httpx.AsyncClient, RecordingBackend]]:
    backend = RecordingBackend()
    local = LocalGrpcServer(
        backend.handlers(), [AdmissionInterceptor(max_in_flight=1), ErrorMappingInterceptor()]
    )
    app = create_gateway_app(local, ONEHUB_SERVICES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        yield http, backend


async def test_past_the_servers_admission_bound_a_call_is_503_with_retry_after(
    client: tuple[httpx.AsyncClient, RecordingBackend],
) -> None:
    http, backend = client
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold(_: Message, __: grpc.aio.ServicerContext[Any, Any]) -> Message:
        entered.set()
        await release.wait()
        return topics_pb2.ListTopicsResponse()

    backend.behaviours["ListTopics"] = hold
    first = asyncio.create_task(http.get("/v1/topics"))
    await entered.wait()
    refused = await http.get("/v1/topics")
    release.set()

    assert (await first).status_code == 200
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["code"] == grpc.StatusCode.UNAVAILABLE.value[0]
    assert (await http.get("/v1/topics")).status_code == 200  # the slot was given back


async def test_a_servicer_bug_is_500_internal_without_detail(
    client: tuple[httpx.AsyncClient, RecordingBackend],
) -> None:
    http, backend = client

    async def broken(_: Message, __: grpc.aio.ServicerContext[Any, Any]) -> Message:
        raise KeyError("secret-internal-state")

    backend.behaviours["GetTopic"] = broken
    response = await http.get("/v1/topics/t1")

    assert response.status_code == 500
    assert response.json()["message"] == INTERNAL_ERROR_MESSAGE
    assert "secret-internal-state" not in response.text


async def test_a_method_no_handler_serves_is_501() -> None:
    app = create_gateway_app(LocalGrpcServer([]), ONEHUB_SERVICES)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
        response = await http.get("/v1/topics")

    assert response.status_code == 501
    assert response.json()["code"] == grpc.StatusCode.UNIMPLEMENTED.value[0]
