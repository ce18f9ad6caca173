"""Over-long credentials and undecodable gRPC requests on the real stack: a plain 401 /
UNAUTHENTICATED or INVALID_ARGUMENT, never gRPC's internal limits or Python class names."""

from __future__ import annotations

import base64

import grpc
import httpx
import pytest

from onehub.app import RunningOneHub

WRONG = "invalid username or password"


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.mark.parametrize("password_bytes", [12 * 1024, 16 * 1024])
async def test_long_basic_credentials_are_401(hub: RunningOneHub, password_bytes: int) -> None:
    async with httpx.AsyncClient(base_url=hub.gateway_url, timeout=10) as client:
        for username, password in (("admin", "x" * password_bytes), ("a" * password_bytes, "p")):
            response = await client.get(
                "/api/v1/topics", headers={"Authorization": _basic(username, password)}
            )
            assert response.status_code == 401, response.text
            assert response.headers["www-authenticate"] == 'Basic realm="onehub"'
            assert response.json()["message"] == WRONG


async def _raw_call(
    hub: RunningOneHub, method: str, request: bytes, metadata: tuple[tuple[str, str], ...]
) -> grpc.aio.AioRpcError:
    async with grpc.aio.insecure_channel(hub.grpc_target) as channel:
        call = channel.unary_unary(
            method, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await call(request, metadata=metadata, timeout=10)
    return caught.value


@pytest.mark.parametrize("password_bytes", [12 * 1024, 16 * 1024, 60 * 1024])
async def test_long_grpc_password_is_unauthenticated(
    hub: RunningOneHub, password_bytes: int
) -> None:
    error = await _raw_call(
        hub,
        "/onehub.v1.TopicService/ListTopics",
        b"",
        (("onehubusername", "admin"), ("onehubpassword", "x" * password_bytes)),
    )
    assert (error.code(), error.details()) == (grpc.StatusCode.UNAUTHENTICATED, WRONG)


@pytest.mark.parametrize(
    "method",
    [
        "/onehub.v1.TopicService/ListTopics",
        "/onehub.v1.TopicService/CreateTopic",
        "/onehub.v1.MessageService/CreateMessages",
        "/onehub.v1.UserService/GetUser",
    ],
)
@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff garbage", b"\x0a\x05ab", b"\x12\x80"])
async def test_undecodable_request_is_invalid_argument(
    hub: RunningOneHub, method: str, garbage: bytes
) -> None:
    error = await _raw_call(
        hub, method, garbage, (("onehubusername", "admin"), ("onehubpassword", "admin123"))
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.details().startswith("the request message could not be decoded")
