"""Which event loop `onehub serve` runs on, and that a request is served on each."""

from __future__ import annotations

import asyncio
import importlib.util

import pytest

from onehub.app import event_loop
from onehub.config import StartupError

UVLOOP_INSTALLED = importlib.util.find_spec("uvloop") is not None


def test_uvloop_is_installed_with_onehub() -> None:
    # A runtime dependency on every platform this project supports: auto must mean uvloop.
    assert UVLOOP_INSTALLED
    assert event_loop.resolve("auto") == "uvloop"


def test_asyncio_stays_asyncio() -> None:
    assert event_loop.resolve("asyncio") == "asyncio"
    assert event_loop.loop_factory("asyncio") is None


@pytest.mark.parametrize(("choice", "expected"), [("auto", "uvloop"), ("asyncio", "asyncio")])
def test_run_uses_the_chosen_loop(choice: str, expected: str) -> None:
    async def kind() -> str:
        return event_loop.describe(asyncio.get_running_loop())

    assert event_loop.run(kind(), choice).split()[0] == expected


def test_uvloop_where_it_is_missing_is_a_one_line_startup_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(StartupError, match="uvloop is not installed"):
        event_loop.resolve("uvloop")
    assert event_loop.resolve("auto") == "asyncio"
