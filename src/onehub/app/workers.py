"""`onehub serve --workers N`: a supervisor and N worker processes sharing the ports.

The supervisor serves nothing itself. Before any worker starts it

- reserves the gRPC and gateway ports: a socket bound with SO_REUSEPORT (never listening) on
  each, after checking that nothing else holds them, so "port in use" stays one line of ours and
  no stranger can take a port while a worker restarts; port 0 becomes a concrete free port;
- migrates the database once (the workers find it at head) and makes the page-key secret;
- starts the one embedded collector, which every worker exports to.

Then it starts the workers (`python -m onehub.app.worker`, each in a session of its own, so
Ctrl-C reaches only the supervisor), each binding both ports with SO_REUSEPORT: the kernel
spreads new connections over them. A worker that dies is restarted, with one line on stderr
(sooner or later: a worker that keeps dying at start waits up to `MAX_RESTART_DELAY_S`).
SIGINT or SIGTERM sends every worker SIGTERM (each drains as `onehub serve` does), then stops the
collector. Each worker also serves /metrics on a port of its own; the supervisor lists those in
a Prometheus file_sd file (`metrics_targets_path`) for as long as it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from onehub.app import event_loop
from onehub.app.embedded_collector import (
    STOP_TIMEOUT_S,
    CollectorAddresses,
    EmbeddedCollector,
    OutputRelay,
    finish_child,
    start_embedded_collector,
)
from onehub.app.wiring import open_database
from onehub.app.worker import READY_PREFIX, encode_spec
from onehub.app.worker_spec import WorkerSpec
from onehub.config import ConfigError, Settings, StartupError, split_host_port
from onehub.storage.secrets import load_secret

READY_TIMEOUT_S = 60.0
MAX_RESTART_DELAY_S = 10.0
# A worker that lived this long before dying is restarted at once.
_STEADY_S = 10.0
_FIRST_RESTART_DELAY_S = 0.25
_EXIT_CONFIG = 2
METRICS_TARGETS_FILE = "metrics-targets.json"


def metrics_targets_path(settings: Settings) -> Path:
    """Where the supervisor lists its workers' /metrics addresses: next to the collector's
    data directory (`.data/metrics-targets.json` by default)."""
    return Path(settings.collector_data_dir).parent / METRICS_TARGETS_FILE


def serve_workers(settings: Settings) -> int:
    """Run `settings.workers` workers until SIGINT or SIGTERM; return 0 once all drained.
    Raise ConfigError or StartupError, one line, if they cannot start; nothing is left then."""
    return event_loop.run(_supervise(settings), settings.event_loop)


async def _supervise(settings: Settings) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as undo:
        gateway_reservation = _reserve(settings.gw_addr, "--gw-addr", "the REST gateway")
        undo.callback(gateway_reservation.close)
        grpc_reservation = _reserve(settings.addr, "--addr", "the gRPC server")
        undo.callback(grpc_reservation.close)
        concrete = dataclasses.replace(
            settings,
            addr=_address(settings.addr, grpc_reservation),
            gw_addr=_address(settings.gw_addr, gateway_reservation),
        )
        await _migrate_once(settings)
        collector: EmbeddedCollector | None = None
        addresses: CollectorAddresses | None = None
        if settings.collector == "embedded":
            addresses = CollectorAddresses.of(settings)
            collector = await start_embedded_collector(settings, addresses)
            undo.push_async_callback(collector.stop)
            concrete = dataclasses.replace(
                concrete, viewer_url=settings.viewer_url or collector.viewer_url
            )
        pool = _WorkerPool(concrete, addresses, metrics_targets_path(settings))
        undo.push_async_callback(pool.stop)
        await pool.start()
        _announce(concrete, pool, collector)
        keeper = asyncio.create_task(pool.keep_alive(), name="onehub-workers")
        await stop.wait()
        print("onehub: shutting down (draining every worker)", file=sys.stderr, flush=True)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    return 0


def _reserve(addr: str, flag: str, what: str) -> socket.socket:
    """A bound, never listening SO_REUSEPORT socket on `addr`, after making sure nothing else
    (another OneHub, with or without workers) is bound there."""
    host, port = split_host_port(addr, flag)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        if port:
            with socket.socket(family, socket.SOCK_STREAM) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((host, port))
        reservation = socket.socket(family, socket.SOCK_STREAM)
        try:
            reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            reservation.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            reservation.bind((host, port))
        except OSError:
            reservation.close()
            raise
    except OSError as error:
        raise StartupError(f"cannot start {what} on {addr}: {error.strerror or error}") from None
    return reservation


def _address(addr: str, reservation: socket.socket) -> str:
    host, _ = split_host_port(addr)
    port = reservation.getsockname()[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


async def _migrate_once(settings: Settings) -> None:
    engine = await open_database(settings.db_endpoint)
    try:
        await load_secret(engine)
    finally:
        await engine.dispose()


@dataclass
class _Worker:
    spec: WorkerSpec
    process: asyncio.subprocess.Process
    metrics_port: int
    started: float = field(default_factory=time.monotonic)
    relays: list[OutputRelay] = field(default_factory=list)


class _WorkerPool:
    def __init__(
        self, settings: Settings, collector: CollectorAddresses | None, targets: Path
    ) -> None:
        self._settings = settings
        self._collector = collector
        self._targets = targets
        self.workers: dict[int, _Worker] = {}

    async def start(self) -> None:
        """Start every worker; if one cannot start, stop the others and raise its error."""
        results = await asyncio.gather(
            *(_spawn(self._spec(index)) for index in range(self._settings.workers)),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, _Worker):
                self.workers[result.spec.index] = result
        for result in results:
            if isinstance(result, BaseException):
                raise result
        self._write_targets()

    async def keep_alive(self) -> None:
        """Restart each worker that exits, until cancelled."""
        async with asyncio.TaskGroup() as group:
            for index in list(self.workers):
                group.create_task(self._keep(index))

    async def _keep(self, index: int) -> None:
        delay = _FIRST_RESTART_DELAY_S
        while True:
            worker = self.workers[index]
            status = await worker.process.wait()
            lived = time.monotonic() - worker.started
            how = f"signal {-status}" if status < 0 else f"status {status}"
            _say(f"worker {index} (pid {worker.process.pid}) exited with {how}; restarting it")
            delay = _FIRST_RESTART_DELAY_S if lived >= _STEADY_S else delay
            while True:
                try:
                    self.workers[index] = await _spawn(self._spec(index))
                    break
                except StartupError as error:
                    _say(f"worker {index} cannot start: {error}; retrying in {delay:g}s")
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, MAX_RESTART_DELAY_S)
            if lived < _STEADY_S:
                delay = min(delay * 2, MAX_RESTART_DELAY_S)
            self._write_targets()

    async def stop(self) -> None:
        """SIGTERM every worker and wait for all to drain; kill one that takes too long."""
        for worker in self.workers.values():
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.terminate()
        limit = self._settings.grace_seconds + STOP_TIMEOUT_S
        await asyncio.gather(*(_finish(worker, limit) for worker in self.workers.values()))
        with contextlib.suppress(OSError):
            self._targets.unlink()

    def _spec(self, index: int) -> WorkerSpec:
        return WorkerSpec(self._settings, index, str(uuid.uuid4()), self._collector)

    def _write_targets(self) -> None:
        """The Prometheus file_sd list of every worker's own /metrics (written whole, then
        renamed, so Prometheus never reads half of it)."""
        host, _ = split_host_port(self._settings.gw_addr)
        entries = [
            {
                "targets": [f"{_connect_host(host)}:{worker.metrics_port}"],
                "labels": {
                    "worker": str(index),
                    "service_instance_id": worker.spec.instance_id,
                },
            }
            for index, worker in sorted(self.workers.items())
        ]
        try:
            self._targets.parent.mkdir(parents=True, exist_ok=True)
            partial = self._targets.with_suffix(".tmp")
            partial.write_text(json.dumps(entries, indent=2) + "\n")
            partial.replace(self._targets)
        except OSError as error:
            _say(f"cannot write {self._targets}: {error.strerror or error}")


async def _spawn(spec: WorkerSpec) -> _Worker:
    """Start one worker and wait for its ready line. Raise ConfigError or StartupError with its
    own one-line reason if it exits first; it is gone then."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "onehub.app.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # A session of its own, hence a process group of its own (uvloop has no process_group).
        start_new_session=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    errors = OutputRelay(process.stderr, sys.stderr)
    try:
        process.stdin.write(encode_spec(spec))
        await process.stdin.drain()
        ready = await _ready_fields(process.stdout)
        output = OutputRelay(process.stdout, sys.stdout)
        if ready is None:
            await process.wait()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(errors.task, 1.0)
            raise _start_error(spec.index, process.returncode, errors.held_lines)
    except BaseException:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        errors.release()
        raise
    errors.release()
    output.release()
    return _Worker(spec, process, int(ready["metrics"]), relays=[errors, output])


async def _ready_fields(stdout: asyncio.StreamReader) -> dict[str, str] | None:
    """The ready line's key=value pairs; None if the worker's output ended first."""
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            while line := await stdout.readline():
                text = line.decode(errors="replace").strip()
                if text.startswith(READY_PREFIX):
                    pairs = text.removeprefix(READY_PREFIX).split()
                    return dict(pair.partition("=")[::2] for pair in pairs)
    except TimeoutError:
        raise StartupError(f"a worker did not start within {READY_TIMEOUT_S:.0f}s") from None
    return None


async def _finish(worker: _Worker, limit: float) -> None:
    await finish_child(worker.process, worker.relays, limit)


def _start_error(index: int, status: int | None, stderr_lines: list[str]) -> StartupError:
    lines = [line.strip() for line in stderr_lines if line.strip()]
    ours = [line.removeprefix("onehub: ") for line in lines if line.startswith("onehub: ")]
    reason = (ours or lines or [f"worker {index} exited with status {status}"])[-1]
    return ConfigError(reason) if status == _EXIT_CONFIG else StartupError(reason)


def _say(line: str) -> None:
    print(f"onehub: {line}", file=sys.stderr, flush=True)


def _connect_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _announce(settings: Settings, pool: _WorkerPool, collector: EmbeddedCollector | None) -> None:
    gw_host, gw_port = split_host_port(settings.gw_addr)
    grpc_host, grpc_port = split_host_port(settings.addr)
    gateway = f"http://{_connect_host(gw_host)}:{gw_port}"
    pids = ", ".join(str(worker.process.pid) for _, worker in sorted(pool.workers.items()))
    lines = [
        f"OneHub is running ({len(pool.workers)} workers, pids {pids}):",
        f"  web front end   {gateway}/",
        f"  REST API        {gateway}/api/v1/topics   (OpenAPI: /api/openapi.json)",
        f"  gRPC            {_connect_host(grpc_host)}:{grpc_port}",
        f"  metrics         per worker, listed in {metrics_targets_path(settings)}",
        f"  event loop      {event_loop.describe(asyncio.get_running_loop())} in each worker",
    ]
    if collector is not None:
        lines += [
            f"  trace viewer    {settings.viewer_url}",
            f"  OTLP receivers  grpc {collector.otlp_grpc_addr}  http {collector.otlp_http_addr}",
        ]
    if settings.auth == "dev":
        lines.append("  sign in as admin / admin123 (dev auth: password = user id + 123)")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
