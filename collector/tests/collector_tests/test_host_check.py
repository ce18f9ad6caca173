"""Host header parsing and matching of the DNS-rebinding defence (the servers' behaviour is in
tests/e2e/test_allowed_hosts.py)."""

from __future__ import annotations

import pytest
from starlette.types import Receive, Scope, Send

from onehub_collector.host_check import AllowedHosts, host_name, with_host_check


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost", "localhost"),
        ("LocalHost:9080", "localhost"),
        ("localhost.:9080", "localhost"),
        ("[::1]:16686", "::1"),
        ("[::1]", "::1"),
        ("127.0.0.1:80", "127.0.0.1"),
        ("evil.example:abc", None),
        ("[::1", None),
        ("[::1]x", None),
        ("", None),
        (":80", None),
    ],
)
def test_host_name(header: str, host: str | None) -> None:
    assert host_name(header) == host


def test_loopback_names_and_the_allow_list() -> None:
    allowed = AllowedHosts(["chat.example", ".example.org", "*.corp.example", "[2001:db8::1]"])
    for header in (
        "localhost",
        "a.b.localhost:1",
        "127.255.0.1",
        "[::1]:9",
        "chat.example",
        "example.org",
        "x.example.org:443",
        "corp.example",
        "a.corp.example",
        "[2001:db8::1]:80",
    ):
        assert allowed.allows(header), header
    refused: tuple[str | None, ...] = (
        None,
        "",
        "evil.example",
        "chat.example.evil",
        "notexample.org",
        "localhost.evil",
        "128.0.0.1",
        "[::2]",
        "0.0.0.0",
    )
    for refused_header in refused:
        assert not allowed.allows(refused_header), refused_header
    assert AllowedHosts(["*"]).allows("anything.example")


def test_the_check_applies_on_loopback_or_with_a_list() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None: ...

    assert with_host_check(app, "0.0.0.0") is app
    assert with_host_check(app, "203.0.113.5") is app
    assert with_host_check(app, "127.0.0.1") is not app
    assert with_host_check(app, "::1") is not app
    assert with_host_check(app, "0.0.0.0", ["chat.example"]) is not app
