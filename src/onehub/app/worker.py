"""One worker process of `onehub serve --workers N`: `python -m onehub.app.worker`.

Its supervisor (app/workers.py) writes the pickled `WorkerSpec` to the worker's stdin, preceded
by its length (8 bytes, big-endian), and keeps the pipe open: end of file means the supervisor
is gone, and the worker drains and exits, as it does on SIGTERM (Linux also sends SIGTERM when
the supervisor dies). SIGINT is ignored: Ctrl-C is the supervisor's to handle. Once serving,
the worker prints one line, `READY_PREFIX` then `key=value` pairs, on stdout; a start-up error
is one `onehub: ...` line on stderr and exit status 2 (a setting) or 1.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import sys

from onehub.app import event_loop
from onehub.app.gc_tuning import tune_for_serving
from onehub.app.wiring import start_onehub
from onehub.app.worker_spec import WorkerSpec
from onehub.config import ConfigError, StartupError
from onehub_collector.cli import stop_with_parent

READY_PREFIX = "onehub worker ready:"
_LENGTH_BYTES = 8


def encode_spec(spec: WorkerSpec) -> bytes:
    payload = pickle.dumps(spec)
    return len(payload).to_bytes(_LENGTH_BYTES, "big") + payload


def _read_spec() -> WorkerSpec:
    length = int.from_bytes(_read_exactly(_LENGTH_BYTES), "big")
    # The bytes come from our own supervisor through a pipe only it holds.
    spec = pickle.loads(_read_exactly(length))
    if not isinstance(spec, WorkerSpec):
        raise StartupError("a worker was started without its orders")
    return spec


def _read_exactly(size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = os.read(0, size - len(data))
        if not chunk:
            raise StartupError("a worker's supervisor went away before giving its orders")
        data += chunk
    return data


async def _run(spec: WorkerSpec) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stop_with_parent(lambda: loop.call_soon_threadsafe(stop.set))
    running = await start_onehub(spec.settings, worker=spec)
    tune_for_serving()
    print(
        READY_PREFIX,
        f"index={spec.index} pid={os.getpid()} instance={spec.instance_id} "
        f"metrics={running.metrics_port}",
        flush=True,
    )
    await stop.wait()
    await running.stop()
    return 0


def main() -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        spec = _read_spec()
        return event_loop.run(_run(spec), spec.settings.event_loop)
    except ConfigError as error:
        print(f"onehub: {error}", file=sys.stderr, flush=True)
        return 2
    except StartupError as error:
        print(f"onehub: {error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
