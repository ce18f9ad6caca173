"""Tripwire for uvicorn's `Server.capture_signals` (onehub_collector/uvicorn_compat.py): a
serving SignalFreeServer leaves the process's SIGINT and SIGTERM handlers alone, where uvicorn's
own Server replaces them."""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn
from starlette.types import Receive, Scope, Send

from onehub_collector.uvicorn_compat import SignalFreeServer

from .tripwire import check

UVICORN = "uvicorn"
COMPAT = "onehub_collector/uvicorn_compat.py"
SIGNALS = (signal.SIGINT, signal.SIGTERM)


async def _app(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("no request is made")


async def handlers_while_serving(make: Callable[[uvicorn.Config], uvicorn.Server]) -> list[Any]:
    """The SIGINT and SIGTERM handlers while a server made by `make` serves, on a socket of
    its own, in this (the main) thread."""
    assert threading.current_thread() is threading.main_thread()  # uvicorn only captures there
    config = uvicorn.Config(_app, log_level="warning", access_log=False, lifespan="off")
    server = make(config)
    with socket.create_server(("127.0.0.1", 0)) as sock:
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        async with asyncio.timeout(10):
            while not server.started:
                assert not serving.done(), serving.result()
                await asyncio.sleep(0.01)
        during = [signal.getsignal(sig) for sig in SIGNALS]
        server.should_exit = True
        await serving
    return during


async def test_a_signal_free_server_leaves_the_signal_handlers_alone() -> None:
    before = [signal.getsignal(sig) for sig in SIGNALS]

    ours = await handlers_while_serving(SignalFreeServer)
    theirs = await handlers_while_serving(uvicorn.Server)

    check(
        theirs != before,
        UVICORN,
        COMPAT,
        "uvicorn's Server to install its own SIGINT/SIGTERM handlers while serving (if it no"
        " longer does, SignalFreeServer may be unnecessary)",
    )
    check(
        ours == before,
        UVICORN,
        COMPAT,
        "SignalFreeServer to leave SIGINT/SIGTERM alone while serving: Server.serve no longer"
        f" goes through capture_signals; handlers were {ours}, not {before}",
    )
    assert [signal.getsignal(sig) for sig in SIGNALS] == before
