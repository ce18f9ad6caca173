"""The event loop `onehub serve` runs on: uvloop where it is installed, else asyncio's own.

uvloop (libuv under asyncio's interface) runs the loop's own work (callbacks, transports,
timers) in C. OneHub's servers spend a large share of each request there, between uvicorn,
grpc.aio and aiosqlite's wake-ups: on the 2-core benchmark machine GET topic through the gateway
took about a sixth less server CPU per request on uvloop (benchmarks/README.md). Everything
OneHub runs on the loop works on both; `--loop asyncio` keeps asyncio's loop, e.g. to compare.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import importlib.util
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from onehub.config import StartupError

T = TypeVar("T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


def resolve(choice: str) -> str:
    """The loop `choice` ("auto", "asyncio" or "uvloop") means on this machine: "uvloop" or
    "asyncio". Raise StartupError for "uvloop" where it is not installed."""
    installed = importlib.util.find_spec("uvloop") is not None
    if choice == "uvloop" and not installed:
        raise StartupError("--loop uvloop: uvloop is not installed (pip install uvloop)")
    if choice == "auto":
        return "uvloop" if installed else "asyncio"
    return choice


def loop_factory(choice: str) -> LoopFactory | None:
    """What makes the loop `choice` resolves to (None: asyncio's default)."""
    if resolve(choice) == "asyncio":
        return None
    import uvloop

    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T], choice: str) -> T:
    """Run `main` to completion on a new loop of the kind `choice` names, as asyncio.run does."""
    with asyncio.Runner(loop_factory=loop_factory(choice)) as runner:
        return runner.run(main)


def describe(loop: asyncio.AbstractEventLoop) -> str:
    """The running loop's kind for people: "uvloop 0.23.0" or "asyncio"."""
    module = type(loop).__module__
    if module.startswith("uvloop"):
        return f"uvloop {importlib.metadata.version('uvloop')}"
    return "asyncio"
