"""The embedded collector, trace store and viewer, run as a child process of `onehub serve`.

A child keeps span ingest and storage off the service's GIL. It is `onehub collector
--watch-parent` with the serve command's addresses, and it lives and dies with us:

- it runs in a session (so a process group) of its own and ignores SIGINT, so Ctrl-C at the
  terminal reaches only `serve`, which drains, flushes its telemetry into the collector and
  only then stops it (SIGTERM); the collector stores what it holds and exits;
- its stdin is a pipe we never write to: however we end, kill -9 included, the kernel closes
  it and the collector stops (on Linux it also gets SIGTERM from PR_SET_PDEATHSIG).

Start-up waits for the child's own ready line, printed once every one of its servers listens,
so a stray process answering on one of its ports cannot pass for it. Until then its output is
held back: if it fails, its one-line reason becomes our error; once ready, its output is relayed
to ours.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from onehub.config import ConfigError, Settings, StartupError, split_host_port
from onehub_collector.netaddr import join_host_port

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
# The collector's own contract (onehub_collector.cli): the ready line's prefix, the prefix of
# its one-line error, and the status it exits with for a configuration it cannot use.
_READY_PREFIX = b"onehub collector ready:"
_ERROR_PREFIX = "onehub collector: "
_EXIT_CONFIG = 2
_CHUNK_BYTES = 64 * 1024


class OutputRelay:
    """Copies a child's output stream to ours as it comes (in chunks: a line of any length is
    fine); holds it back until `release()` so a start-up failure can be reported as one line
    of our own."""

    def __init__(self, stream: asyncio.StreamReader, sink: TextIO) -> None:
        self._stream = stream
        self._sink = sink
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._held: list[bytes] = []
        self._holding = True
        self.task = asyncio.create_task(self._copy(), name="collector-output")

    @property
    def held_lines(self) -> list[str]:
        return b"".join(self._held).decode(errors="replace").splitlines()

    def release(self) -> None:
        self._holding = False
        self._write(b"".join(self._held))
        self._held.clear()

    async def _copy(self) -> None:
        while chunk := await self._stream.read(_CHUNK_BYTES):
            if self._holding:
                self._held.append(chunk)
            else:
                self._write(chunk)

    def _write(self, chunk: bytes) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._sink.write(self._decoder.decode(chunk))
            self._sink.flush()


@dataclass
class EmbeddedCollector:
    process: asyncio.subprocess.Process
    otlp_grpc_addr: str
    otlp_http_addr: str
    ui_addr: str
    _relays: list[OutputRelay] = field(default_factory=list)

    @property
    def viewer_url(self) -> str:
        return f"http://{self.ui_addr}/jaeger"

    async def stop(self) -> None:
        """Ask the child to store what it holds and exit (SIGTERM); kill it if it has not
        within the limit. Its remaining output is relayed before this returns."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
        await finish_child(self.process, self._relays, STOP_TIMEOUT_S)


async def finish_child(
    process: asyncio.subprocess.Process, relays: Sequence[OutputRelay], limit_s: float
) -> None:
    """Wait up to `limit_s` for a child told to stop, kill it past that, close the pipe it
    watches and relay the rest of its output."""
    try:
        await asyncio.wait_for(process.wait(), limit_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
    if process.stdin is not None:
        process.stdin.close()
    for relay in relays:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(relay.task, 1.0)


@dataclass(frozen=True)
class CollectorAddresses:
    """Where the embedded collector will listen: the settings' addresses, port 0 replaced by
    a port free right now (the child must know its ports before it starts)."""

    otlp_grpc: str
    otlp_http: str
    ui: str

    @classmethod
    def of(cls, settings: Settings) -> CollectorAddresses:
        return cls(
            otlp_grpc=_concrete(settings.otlp_grpc_addr, "--otlp-grpc-addr"),
            otlp_http=_concrete(settings.otlp_http_addr, "--otlp-http-addr"),
            ui=_concrete(settings.ui_addr, "--ui-addr"),
        )


def _concrete(addr: str, name: str) -> str:
    host, port = split_host_port(addr, name)
    if port:
        return addr
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        free = probe.getsockname()[1]
    return join_host_port(host, free)


async def start_embedded_collector(
    settings: Settings, addresses: CollectorAddresses
) -> EmbeddedCollector:
    """Start `onehub collector` as a child on `addresses` and wait for its ready line.

    Raise ConfigError (its configuration file is unusable) or StartupError (anything else:
    an address in use, an unusable data directory, no ready line in time), each one line
    naming the culprit; the child is gone when either is raised.
    """
    args = [
        "--otlp-grpc-addr", addresses.otlp_grpc,
        "--otlp-http-addr", addresses.otlp_http,
        "--ui-addr", addresses.ui,
        "--data-dir", settings.collector_data_dir,
        "--watch-parent",
    ]  # fmt: skip
    if settings.allowed_hosts:
        args += ["--allowed-hosts", ",".join(settings.allowed_hosts)]
    if settings.collector_config:
        args += ["--config", settings.collector_config]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "onehub",
        "collector",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # A session of its own, hence a process group of its own (uvloop has no process_group).
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    collector = EmbeddedCollector(process, addresses.otlp_grpc, addresses.otlp_http, addresses.ui)
    errors = OutputRelay(process.stderr, sys.stderr)
    collector._relays = [errors]
    try:
        ready = await _wait_ready(process.stdout)
        collector._relays.append(OutputRelay(process.stdout, sys.stdout))
        if not ready:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
                await asyncio.wait_for(errors.task, 1.0)
            raise _start_error(process.returncode, errors.held_lines)
    except BaseException:
        await collector.stop()
        raise
    for relay in collector._relays:
        relay.release()
    return collector


async def _wait_ready(stdout: asyncio.StreamReader) -> bool:
    """True once the child prints its ready line; False if its output ends first (it exited).
    StartupError if neither happens in time."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while True:
                try:
                    line = await stdout.readline()
                except ValueError:  # a line past the reader's limit: not the ready line
                    continue
                if not line:
                    return False
                if line.startswith(_READY_PREFIX):
                    return True
    except TimeoutError:
        raise StartupError(
            f"the embedded collector did not start within {READY_TIMEOUT_S:.0f}s"
        ) from None


def _start_error(status: int | None, stderr_lines: list[str]) -> StartupError:
    lines = [line.strip() for line in stderr_lines if line.strip()]
    reasons = [line.removeprefix(_ERROR_PREFIX) for line in lines if line.startswith(_ERROR_PREFIX)]
    if reasons:
        reason = reasons[-1]
    elif lines:
        reason = lines[-1]
    else:
        reason = f"it exited with status {status}"
    message = f"embedded collector: {reason}"
    return ConfigError(message) if status == _EXIT_CONFIG else StartupError(message)
