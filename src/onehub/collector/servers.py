"""Listening sockets and the uvicorn servers on them, bound before anything serves so a port in
use is reported at once, with its address, and nothing is left half started."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from onehub.collector.config import CollectorStartError, ServerTls
from onehub.collector.uvicorn_compat import SignalFreeServer


def split_address(address: str) -> tuple[str, int]:
    """HOST:PORT, [V6]:PORT or :PORT (all interfaces, as Go writes it) → (host, port)."""
    host, sep, port_text = address.rpartition(":")
    if not sep or not port_text.isdigit() or int(port_text) > 65535:
        raise CollectorStartError(f"invalid address {address!r}: expected HOST:PORT")
    host = host.removeprefix("[").removesuffix("]") or "0.0.0.0"
    return host, int(port_text)


def listen(address: str, what: str) -> socket.socket:
    """A listening TCP socket; CollectorStartError naming `what` and the address on failure."""
    host, port = split_address(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets whose proto says TCP, and
    # with Nagle on every keep-alive response waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else str(exc)
        raise CollectorStartError(f"cannot listen for {what} on {address}: {reason}") from None
    return sock


def display_address(address: str, port: int) -> str:
    host, _ = split_address(address)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class HttpServer:
    """A uvicorn server on an already bound socket."""

    def __init__(
        self, app: ASGIApp, sock: socket.socket, name: str, tls: ServerTls | None = None
    ) -> None:
        self.sock = sock
        self.port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_graceful_shutdown=3,
            server_header=False,
            **({} if tls is None else _ssl_options(tls)),
        )
        self._server = SignalFreeServer(config)  # one Ctrl-C stops everything
        self._task: asyncio.Task[None] | None = None
        self._name = name

    async def start(self) -> None:
        self._task = asyncio.create_task(self._server.serve(sockets=[self.sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise CollectorStartError(f"{self._name} server stopped during start-up")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sock.close()


def _ssl_options(tls: ServerTls) -> dict[str, Any]:
    """uvicorn's TLS settings for `tls`: client certificates required when a CA is given."""
    options: dict[str, Any] = {"ssl_certfile": tls.cert_file, "ssl_keyfile": tls.key_file}
    if tls.client_ca_file is not None:
        options |= {"ssl_ca_certs": tls.client_ca_file, "ssl_cert_reqs": ssl.CERT_REQUIRED}
    return options
