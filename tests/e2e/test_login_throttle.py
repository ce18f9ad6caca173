"""Password guessing against a real `onehub serve --auth password`: failed sign-ins are
throttled per client address and per user (429 + Retry-After, gRPC RESOURCE_EXHAUSTED with a
retry pushback), counted in metrics, and the real user still gets in from elsewhere."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest

from onehub.app.passwords import set_password
from onehub.gen.onehub.v1 import topics_pb2, topics_pb2_grpc

from .processes import running_serve

PASSWORD = "correct horse battery"
ADDRESS_THRESHOLD = 10  # the default policy's free failures per address
USER_THRESHOLD = 5  # and per user
TOPICS = "/api/v1/topics"


def _password_serve(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    database = tmp_path / "onehub.db"
    database.touch()
    url = f"sqlite:///{database}"
    asyncio.run(set_password(url, "admin", PASSWORD))
    with running_serve(tmp_path, "--auth", "password", "--db-endpoint", url, env=env) as addresses:
        yield addresses


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[str, str]]:
    yield from _password_serve(tmp_path, {"OTEL_SDK_DISABLED": "false"})


@pytest.fixture(params=["network", "in-process"])
def http_serve(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """`serve` with each gateway dispatch: the HTTP client's address reaches the throttle
    either way (forwarded over the gRPC hop, or given to the servicer in-process)."""
    env = {"OTEL_SDK_DISABLED": "false", "ONEHUB_GATEWAY_DISPATCH": request.param}
    yield from _password_serve(tmp_path, env)


@pytest.fixture
def serve_behind_proxy(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Told that 127.0.0.1 is a proxy whose X-Forwarded-For it may believe."""
    yield from _password_serve(tmp_path, {"FORWARDED_ALLOW_IPS": "127.0.0.1"})


def _client(url: str, address: str = "127.0.0.1") -> httpx.Client:
    """A client whose connections come from `address` (any of 127.0.0.0/8 works on loopback)."""
    return httpx.Client(
        base_url=url, transport=httpx.HTTPTransport(local_address=address), timeout=30
    )


def _metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(rf"^{name}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def test_http_guessing_is_throttled_by_address_without_locking_the_user_out(
    http_serve: tuple[str, str],
) -> None:
    url, _ = http_serve
    with _client(url) as attacker:
        for n in range(ADDRESS_THRESHOLD):  # any users: the address counts them all
            wrong = attacker.get(TOPICS, auth=(f"user{n}", "guess"))
            assert wrong.status_code == 401
        throttled = attacker.get(TOPICS, auth=("user0", "another guess"))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 30
        assert throttled.json()["message"] == (
            f"too many failed sign-ins: try again in {throttled.headers['retry-after']} s"
        )
        # Another user, X-Forwarded-For or the right password: the address waits all the same.
        for auth, headers in (
            (("alice", "guess"), {}),
            (("admin", "guess"), {"X-Forwarded-For": "203.0.113.9"}),
            (("admin", PASSWORD), {}),
        ):
            assert attacker.get(TOPICS, auth=auth, headers=headers).status_code == 429
    with _client(url, "127.0.0.2") as real_user:
        assert real_user.get(TOPICS, auth=("admin", PASSWORD)).status_code == 200
    assert _metric(url, "onehub_auth_failures_total") == ADDRESS_THRESHOLD
    assert _metric(url, "onehub_auth_throttled_total") == 4


def test_guessing_one_user_from_many_addresses_is_throttled_per_user(
    http_serve: tuple[str, str],
) -> None:
    url, _ = http_serve
    attackers = [f"127.0.1.{n}" for n in range(1, USER_THRESHOLD + 1)]
    for address in attackers:  # one guess each: no address reaches its own limit
        with _client(url, address) as attacker:
            assert attacker.get(TOPICS, auth=("admin", "guess")).status_code == 401
    for address in attackers:  # but the user has: each of them waits now
        with _client(url, address) as attacker:
            response = attacker.get(TOPICS, auth=("admin", PASSWORD))
            assert response.status_code == 429
            assert "retry-after" in response.headers
    # The real user signs in from an address that never failed for them, as often as they like.
    with _client(url, "127.0.2.1") as real_user:
        for _ in range(3):
            assert real_user.get(TOPICS, auth=("admin", PASSWORD)).status_code == 200
    assert _metric(url, "onehub_auth_failures_total") == USER_THRESHOLD


async def _grpc_sign_ins(
    target: str, metadata: tuple[tuple[str, str], ...], count: int
) -> list[tuple[grpc.StatusCode, str, str]]:
    results = []
    async with grpc.aio.insecure_channel(target) as channel:
        topics = topics_pb2_grpc.TopicServiceStub(channel)
        for _ in range(count):
            try:
                await topics.ListTopics(topics_pb2.ListTopicsRequest(), metadata=metadata)
                results.append((grpc.StatusCode.OK, "", ""))
            except grpc.aio.AioRpcError as error:
                trailers = dict(error.trailing_metadata() or ())
                pushback = str(trailers.get("grpc-retry-pushback-ms", ""))
                results.append((error.code(), error.details() or "", pushback))
    return results


def test_grpc_guessing_is_resource_exhausted_with_a_retry_pushback(
    serve: tuple[str, str],
) -> None:
    _, target = serve
    # A direct caller cannot claim another address: without the gateway's token it is ignored.
    guess = (
        ("onehubusername", "admin"),
        ("onehubpassword", "guess"),
        ("onehub-client-address", "203.0.113.7"),
        ("onehub-forwarding-token", "made-up"),
    )
    results = asyncio.run(_grpc_sign_ins(target, guess, USER_THRESHOLD + 1))
    codes = [code for code, _, _ in results]
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * USER_THRESHOLD + [
        grpc.StatusCode.RESOURCE_EXHAUSTED
    ]
    _, message, pushback = results[-1]
    assert re.fullmatch(r"too many failed sign-ins: try again in [0-9]+ s", message)
    assert 0 < int(pushback) <= 30_000


def test_behind_a_configured_proxy_clients_are_told_apart_by_x_forwarded_for(
    serve_behind_proxy: tuple[str, str],
) -> None:
    url, _ = serve_behind_proxy
    guesser = {"X-Forwarded-For": "203.0.113.1"}
    with _client(url) as proxy:
        for n in range(ADDRESS_THRESHOLD):
            assert proxy.get(TOPICS, auth=(f"user{n}", "guess"), headers=guesser).status_code == 401
        assert proxy.get(TOPICS, auth=("admin", PASSWORD), headers=guesser).status_code == 429
        # Everyone else behind the same proxy is unaffected.
        other = {"X-Forwarded-For": "203.0.113.2"}
        assert proxy.get(TOPICS, auth=("admin", PASSWORD), headers=other).status_code == 200
