"""Which `Host` an HTTP server answers: the defence against DNS rebinding.

A web page on a hostile site can make its own name resolve to 127.0.0.1 and then read whatever
a loopback server answers, unless the server refuses requests for host names that are not its
own. So a server bound to a loopback address answers only loopback names (`localhost`,
`*.localhost`, 127.0.0.0/8, `[::1]`, any port) plus those it is told to allow, as development
servers do; a refused request gets 400 with a plain message. A server on another address
answers any name unless it is given a list. Entries of the list are host names or addresses
(`chat.example`, `10.0.0.5`), `.example.org` for that domain and every name under it, or `*`
for any.

Used for the collector's HTTP servers and, by the composition root, for OneHub's gateway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Final

from starlette.types import ASGIApp, Receive, Scope, Send

REFUSED_MESSAGE: Final = (
    b"This server does not answer for the host name this request was sent to. "
    b"Use localhost, or add the name with --allowed-hosts.\n"
)


def is_loopback_host(host: str) -> bool:
    """Whether `host` (a bare name or address, no port or brackets) is a loopback name."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str | None:
    """The host of a `Host` header value, lower case, without port, brackets or a final dot;
    None when it is malformed."""
    header = header.strip().lower()
    if header.startswith("["):
        address, bracket, rest = header[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return address or None
    name, colon, port = header.partition(":")
    if colon and not port.isdigit():
        return None
    name = name.rstrip(".")
    return name or None


class AllowedHosts:
    """The names a server answers: loopback names, then `extra` (see the module docstring)."""

    def __init__(self, extra: Iterable[str] = ()) -> None:
        entries = [entry.strip().lower().rstrip(".") for entry in extra if entry.strip()]
        self.any = "*" in entries
        self._exact = frozenset(entry.strip("[]") for entry in entries if entry[:1] not in ".*")
        self._domains = tuple(
            entry.lstrip("*").lstrip(".") for entry in entries if entry[:1] in ".*" and entry != "*"
        )

    def allows(self, header: str | None) -> bool:
        if self.any:
            return True
        host = host_name(header) if header is not None else None
        if host is None:
            return False
        if is_loopback_host(host) or host in self._exact:
            return True
        return any(host == domain or host.endswith("." + domain) for domain in self._domains)


class HostCheck:
    """ASGI middleware answering 400 to HTTP (and refusing WebSocket) requests whose `Host`
    is not allowed."""

    def __init__(self, app: ASGIApp, allowed: AllowedHosts) -> None:
        self.app = app
        self.allowed = allowed

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        host = None
        for key, value in scope["headers"]:
            if key == b"host":
                host = value.decode("latin-1")
                break
        if self.allowed.allows(host):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting refuses the handshake
            await send({"type": "websocket.close", "code": 1008})
            return
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", b"%d" % len(REFUSED_MESSAGE)),
        ]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": REFUSED_MESSAGE})


def with_host_check(app: ASGIApp, bind_host: str, allowed_hosts: Iterable[str] = ()) -> ASGIApp:
    """`app` behind a HostCheck when it is bound to loopback (`bind_host`, no port) or
    `allowed_hosts` names some hosts; `app` itself otherwise."""
    extra = tuple(allowed_hosts)
    if not extra and not is_loopback_host(bind_host.strip("[]")):
        return app
    return HostCheck(app, AllowedHosts(extra))
