"""uvicorn's `Server`, leaving signals to the program that embeds it.

Checked against uvicorn 0.54.0 (`CHECKED_AGAINST`), the only version collector/pyproject.toml
allows; OneHub's tests/compat/test_uvicorn.py fails, naming the installed version, when the
override below stops taking effect.

Touched: `uvicorn.Server.capture_signals()`, the context manager `Server.serve` runs inside,
which installs SIGINT/SIGTERM handlers in the main thread and re-raises any captured signal
when the server stops. Its name has no underscore but uvicorn's documentation does not describe
it; it replaced `install_signal_handlers()` in uvicorn 0.29, so it has changed before. uvicorn
offers no setting to turn its signal handling off, and overriding this method by subclassing is
the usual way to embed it; we treat it as a private hook, hence the exact pin and the tripwire.

Used by the collector's HTTP servers and by `onehub serve`'s gateway (onehub.app may import
onehub_collector; the collector may import nothing of chat), where one owner handles Ctrl-C and
SIGTERM for every server in the process.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Final

import uvicorn

CHECKED_AGAINST: Final = {"uvicorn": "0.54.0"}


class SignalFreeServer(uvicorn.Server):
    """A uvicorn server that installs no signal handlers: its owner stops it (`should_exit`)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
