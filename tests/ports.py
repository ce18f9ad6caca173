"""Loopback ports for test servers that no other test, and no outgoing connection, will take.

Binding port 0 and closing the socket hands out a port from the kernel's ephemeral range, so
the same number can come back to the next caller (seen: two replicas of one topology test given
the same gateway port: one failed to start while the other answered its health checks),
or be taken by any outgoing connection before the server binds it. Instead each pytest-xdist
worker draws from its own block below the ephemeral range, never hands a port out twice (in a
cycle of the block), and skips one that something already holds. The workers of one run take
consecutive blocks; another run on the same machine starts at a block chosen from its run id, so
two runs rarely share a block.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import threading
from collections.abc import Iterator

BASE_PORT = 10000
BLOCK_SIZE = 600
BLOCKS = (32768 - BASE_PORT) // BLOCK_SIZE  # 37 blocks, all below the ephemeral range


def _block() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3" under xdist
    digits = worker.removeprefix("gw")
    index = int(digits) if digits.isdigit() else 0
    run = os.environ.get("PYTEST_XDIST_TESTRUNUID", "")  # one id shared by a run's workers
    run_offset = int(hashlib.sha256(run.encode()).hexdigest(), 16) % BLOCKS if run else 0
    return (run_offset + index) % BLOCKS


def _candidates() -> Iterator[int]:
    start = BASE_PORT + _block() * BLOCK_SIZE
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
    """A loopback TCP port that is free now and that this test process has not handed out in
    its last 600."""
    with _lock:
        for _ in range(BLOCK_SIZE):
            port = next(_next)
            if _bindable(port):
                return port
    raise RuntimeError(f"no free loopback port in this worker's block of {BLOCK_SIZE}")
