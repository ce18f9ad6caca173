"""Loopback ports for test servers that no other test, and no outgoing connection, will take.

Binding port 0 and closing the socket hands out a port from the kernel's ephemeral range, so
the same number can come back to the next caller (seen: two replicas of one topology test given
the same gateway port: one failed to start while the other answered its health checks),
or be taken by any outgoing connection before the server binds it. Instead each pytest-xdist
worker draws from its own block below the ephemeral range, never hands a port out twice, and
skips one that something already listens on.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
from collections.abc import Iterator

BASE_PORT = 20000
BLOCK_SIZE = 600  # ports per xdist worker: 20000-32599 for 21 workers, below 32768


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3" under xdist
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def _candidates() -> Iterator[int]:
    start = BASE_PORT + (_worker_index() % 21) * BLOCK_SIZE
    return itertools.cycle(range(start, start + BLOCK_SIZE))


_lock = threading.Lock()
_next = _candidates()


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A loopback TCP port that is free now and that this test process has not handed out before
    (in a cycle of 600)."""
    with _lock:
        for _ in range(BLOCK_SIZE):
            port = next(_next)
            if _bindable(port):
                return port
    raise RuntimeError(f"no free loopback port in this worker's block of {BLOCK_SIZE}")
