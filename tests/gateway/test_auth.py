"""HTTP Basic credentials travel to gRPC as metadata and nowhere else."""

from __future__ import annotations

from base64 import b64encode

import pytest

from .conftest import Gateway


def _basic(credentials: bytes) -> str:
    return "Basic " + b64encode(credentials).decode()


async def test_basic_credentials_are_forwarded_as_metadata(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/topics", auth=("alice", "alice123"))

    assert response.status_code == 200
    assert gateway.backend.last.metadata["onehubusername"] == "alice"
    assert gateway.backend.last.metadata["onehubpassword"] == "alice123"


async def test_a_password_may_contain_colons(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics", headers={"authorization": _basic(b"bob:pa:ss")})

    assert gateway.backend.last.metadata["onehubpassword"] == "pa:ss"


async def test_no_authorization_header_forwards_no_credentials(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics")

    assert "onehubusername" not in gateway.backend.last.metadata
    assert "onehubpassword" not in gateway.backend.last.metadata


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc.def.ghi",
        "Basic",
        "Basic !!!notbase64!!!",
        _basic(b"no-colon-here"),
        _basic(b":secretpw"),
        _basic(b"caf\xc3\xa9:secretpw"),  # UTF-8, but gRPC metadata is ASCII
        _basic(b"bob:\xff\xfesecretpw"),  # not UTF-8 at all
        _basic(b"bob:secret\npw"),
    ],
)
async def test_a_malformed_authorization_header_is_401_and_not_echoed(
    gateway: Gateway, authorization: str
) -> None:
    response = await gateway.client.get("/v1/topics", headers={"authorization": authorization})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic")
    assert response.json()["code"] == 16
    assert "secret" not in response.text
    if " " in authorization:
        assert authorization.split(" ")[-1] not in response.text
    assert gateway.backend.calls == []


async def test_credentials_never_reach_span_attributes(gateway: Gateway) -> None:
    await gateway.client.get("/v1/topics/t1", auth=("alice", "hunter2-secret"))
    await gateway.client.get("/v1/topics/t1", headers={"authorization": "Basic bad-secret"})

    spans = gateway.spans.get_finished_spans()
    assert spans
    for span in spans:
        for value in (span.attributes or {}).values():
            assert "secret" not in str(value)
            assert "aHVudGVy" not in str(value)  # base64 of the password's start
