"""Listening sockets and the uvicorn servers on them, bound before anything serves so a port in
use is reported at once, with its address, and nothing is left half started."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from onehub_collector import netaddr
from onehub_collector.config import CollectorStartError, ServerTls
from onehub_collector.uvicorn_compat import SignalFreeServer


def split_address(address: str, what: str = "address") -> tuple[str, int]:
    """(host, port) of a listen address by the rules of `onehub_collector.netaddr`, "0.0.0.0" for an
    empty host; CollectorStartError naming `what` if malformed."""
    try:
        host, port = netaddr.split_host_port(address)
    except netaddr.AddressError as error:
        raise CollectorStartError(f"{what}: {error}") from None
    return netaddr.listen_host(host), port


def listen_socket(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A TCP socket listening on (host, port); OSError if it cannot bind, nothing left open.
    With `reuse_port`, other processes may listen on the same port (SO_REUSEPORT) and the
    kernel spreads connections across them."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets whose proto says TCP, and
    # with Nagle on every keep-alive response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def listen(address: str, what: str) -> socket.socket:
    """A listening TCP socket; CollectorStartError naming `what` and the address on failure."""
    host, port = split_address(address, what)
    try:
        return listen_socket(host, port)
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CollectorStartError(f"cannot listen for {what} on {address}: {reason}") from None


def display_address(address: str, port: int) -> str:
    host, _ = split_address(address)
    return netaddr.join_host_port(host, port)


class HttpServer:
    """A uvicorn server on an already bound socket, for the collector and for OneHub's gateway:
    no signal handlers of its own (its owner stops it), no lifespan, no access log, no Server
    header, and its log records go to the process's own logging set-up."""

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        name: str,
        tls: ServerTls | None = None,
        *,
        graceful_shutdown_s: int = 3,
        proxy_headers: bool = False,
    ) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_config=None,
            # Its start and stop notices repeat its owner's; its warnings and errors still show.
            log_level=logging.WARNING,
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=graceful_shutdown_s,
            server_header=False,
            proxy_headers=proxy_headers,
            **({} if tls is None else _ssl_options(tls)),
        )
        self._server = SignalFreeServer(config)  # one Ctrl-C stops everything
        self._task: asyncio.Task[None] | None = None
        self._name = name

    async def start(self) -> None:
        """Serve in a task; return once accepting. Raise what stopped it during start-up, or
        CollectorStartError naming the server if it stopped without an error."""
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]), name=self._name)
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise CollectorStartError(f"{self._name} server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self, timeout_s: float | None = None) -> None:
        """Stop accepting and let open requests finish (uvicorn's graceful shutdown); wait at
        most `timeout_s` for that when given. Idempotent."""
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        self.sock.close()


def _ssl_options(tls: ServerTls) -> dict[str, Any]:
    """uvicorn's TLS settings for `tls`: client certificates required when a CA is given."""
    options: dict[str, Any] = {"ssl_certfile": tls.cert_file, "ssl_keyfile": tls.key_file}
    if tls.client_ca_file is not None:
        options |= {"ssl_ca_certs": tls.client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
