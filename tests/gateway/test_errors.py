"""Every gRPC failure becomes the error body with the status from the one table."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import any_pb2, struct_pb2
from google.rpc import error_details_pb2, status_pb2  # type: ignore[import-untyped]
from opentelemetry.trace import StatusCode

from onehub.gen.onehub.v1 import messages_pb2, models_pb2, topics_pb2
from onehub.transport.gateway import create_gateway_app

from .conftest import ONEHUB_SERVICES, Gateway

# grpc-gateway v2's table, written out independently of the code under test.
TABLE = [
    (grpc.StatusCode.CANCELLED, 1, 499),
    (grpc.StatusCode.UNKNOWN, 2, 500),
    (grpc.StatusCode.INVALID_ARGUMENT, 3, 400),
    (grpc.StatusCode.DEADLINE_EXCEEDED, 4, 504),
    (grpc.StatusCode.NOT_FOUND, 5, 404),
    (grpc.StatusCode.ALREADY_EXISTS, 6, 409),
    (grpc.StatusCode.PERMISSION_DENIED, 7, 403),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, 8, 429),
    (grpc.StatusCode.FAILED_PRECONDITION, 9, 400),
    (grpc.StatusCode.ABORTED, 10, 409),
    (grpc.StatusCode.OUT_OF_RANGE, 11, 400),
    (grpc.StatusCode.UNIMPLEMENTED, 12, 501),
    (grpc.StatusCode.INTERNAL, 13, 500),
    (grpc.StatusCode.UNAVAILABLE, 14, 503),
    (grpc.StatusCode.DATA_LOSS, 15, 500),
    (grpc.StatusCode.UNAUTHENTICATED, 16, 401),
]


@pytest.mark.parametrize(("code", "number", "status"), TABLE)
async def test_each_grpc_code_maps_to_its_http_status(
    gateway: Gateway, code: grpc.StatusCode, number: int, status: int
) -> None:
    gateway.backend.fail("GetTopic", code, f"topic t1: {code.name.lower()}")

    response = await gateway.client.get("/v1/topics/t1")

    assert response.status_code == status
    body = response.json()
    assert body["code"] == number
    assert body["message"] == f"topic t1: {code.name.lower()}"
    assert body["details"] == []
    assert body["traceId"] == response.headers["traceresponse"].split("-")[1]
    assert ("www-authenticate" in response.headers) == (status == 401)


async def test_unauthenticated_asks_for_basic_credentials(gateway: Gateway) -> None:
    gateway.backend.fail("ListTopics", grpc.StatusCode.UNAUTHENTICATED, "who are you?")

    response = await gateway.client.get("/v1/topics")

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")


async def test_status_details_from_the_server_are_passed_on(gateway: Gateway) -> None:
    violation = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field="name", description="empty")
        ]
    )
    detail = any_pb2.Any()
    detail.Pack(violation)
    status = status_pb2.Status(code=3, message="bad topic", details=[detail])

    async def reject(_: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        await context.abort(
            grpc.StatusCode.INVALID_ARGUMENT,
            "bad topic",
            trailing_metadata=(("grpc-status-details-bin", status.SerializeToString()),),
        )

    gateway.backend.behaviours["CreateTopic"] = reject

    response = await gateway.client.post("/v1/topics", json={"topic": {}})

    assert response.status_code == 400
    assert response.json()["details"] == [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "name", "description": "empty"}],
        }
    ]


async def test_a_slow_server_hits_the_deadline_and_is_504(short_deadline_gateway: Gateway) -> None:
    async def dawdle(_: Any, __: Any) -> topics_pb2.GetTopicResponse:
        await asyncio.sleep(2)
        return topics_pb2.GetTopicResponse()

    short_deadline_gateway.backend.behaviours["GetTopic"] = dawdle

    response = await short_deadline_gateway.client.get("/v1/topics/t1")

    assert response.status_code == 504
    assert response.json()["code"] == 4


async def test_a_server_that_is_gone_is_503() -> None:
    server = grpc.aio.server()
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await server.stop(grace=None)  # nothing listens on the port any more
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        app = create_gateway_app(channel, ONEHUB_SERVICES, call_timeout=5)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            response = await client.get("/v1/topics")

    assert response.status_code == 503
    assert response.json()["code"] == 14
    assert "Traceback" not in response.text


async def test_an_unrenderable_response_is_500_without_detail(gateway: Gateway) -> None:
    broken = struct_pb2.Struct()
    broken.fields["x"].number_value = math.nan  # JSON has no NaN
    message = models_pb2.Message(content_base=models_pb2.ContentBase(content_data=broken))
    gateway.backend.answer("GetMessage", messages_pb2.GetMessageResponse(message=message))

    response = await gateway.client.get("/v1/messages/m1")

    assert response.status_code == 500
    assert response.json()["code"] == 13
    assert response.json()["message"] == "internal error"
    assert "NaN" not in response.text
    assert "Traceback" not in response.text
    (span,) = gateway.finished_spans()
    assert span.status.status_code == StatusCode.ERROR
    assert [event.name for event in span.events] == ["exception"]


@pytest.mark.parametrize(
    ("code", "pushback_ms", "status", "retry_after"),
    [
        (grpc.StatusCode.UNAVAILABLE, None, 503, "1"),
        (grpc.StatusCode.UNAVAILABLE, "4000", 503, "4"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, "2500", 429, "3"),
        (grpc.StatusCode.RESOURCE_EXHAUSTED, None, 429, None),
        (grpc.StatusCode.NOT_FOUND, None, 404, None),
    ],
)
async def test_retry_hints_become_retry_after(
    gateway: Gateway,
    code: grpc.StatusCode,
    pushback_ms: str | None,
    status: int,
    retry_after: str | None,
) -> None:
    async def refuse(_: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        if pushback_ms is not None:
            context.set_trailing_metadata((("grpc-retry-pushback-ms", pushback_ms),))
        await context.abort(code, "not now")

    gateway.backend.behaviours["GetTopic"] = refuse

    response = await gateway.client.get("/v1/topics/t1")

    assert response.status_code == status
    assert response.headers.get("retry-after") == retry_after
    assert response.json()["message"] == "not now"
