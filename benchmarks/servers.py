"""The processes under test: `onehub serve` and `onehub collector`, each started as a person would
start it (bound to port 0, ports read from what it prints), and the databases they run on.

Every context manager here cleans up after itself, also when the benchmark fails half-way: the
process gets SIGTERM (SIGKILL if it does not stop), the PostgreSQL schema is dropped.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import asyncpg

POSTGRES_URL = os.environ.get(
    "ONEHUB_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
#: How the benchmarks start `onehub`: this interpreter, so the venv that runs them is measured.
ONEHUB_COMMAND: tuple[str, ...] = (sys.executable, "-m", "onehub")
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_GRPC_LINE = re.compile(r"^\s*gRPC\s+(\S+:\d+)\s*$", re.MULTILINE)
_REST_LINE = re.compile(r"^\s*REST API\s+http://(\S+:\d+)/", re.MULTILINE)
_SERVE_READY = "Press Ctrl-C to stop."
_COLLECTOR_READY = re.compile(r"^onehub collector ready: (.*)$", re.MULTILINE)
_BARE_READY = re.compile(r"^bare chain ready: http=(?P<http>\S+) topic=(?P<topic>\S+)$", re.M)
_BENCH_ROOT = str(Path(__file__).resolve().parent.parent)


class BenchSetupError(RuntimeError):
    """A process or database the benchmark needs could not be started; the message says why."""


@dataclass(frozen=True, slots=True)
class Server:
    """A running `onehub serve`: its pid (for CPU and profiling), addresses and output file."""

    pid: int
    grpc: str
    gateway: str
    log: Path


@dataclass(frozen=True, slots=True)
class Collector:
    pid: int
    otlp_grpc: str
    ui_url: str


def untraced_env() -> dict[str, str]:
    """This process's environment with the OpenTelemetry SDK off (`OTEL_SDK_DISABLED=true`):
    for a server whose transports or storage are measured, not its telemetry."""
    return {**os.environ, "OTEL_SDK_DISABLED": "true"}


def traced_env() -> dict[str, str]:
    """This process's environment with nothing turning the OpenTelemetry SDK off."""
    return {k: v for k, v in os.environ.items() if k != "OTEL_SDK_DISABLED"}


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of process `pid` (every thread) and of its living children (the
    workers of `onehub serve --workers`) so far; Linux /proc only."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    own = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    return own + sum(process_cpu_seconds(child) for child in child_pids(pid))


def child_pids(pid: int) -> list[int]:
    """The pids of process `pid`'s living children (empty if it has gone)."""
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as listed:
                children.extend(int(child) for child in listed.read().split())
    except OSError:  # gone, or a kernel without the children file
        return []
    return children


@contextmanager
def onehub_server(
    db_endpoint: str,
    workdir: Path,
    *,
    env: Mapping[str, str],
    collector: str = "none",
    command: Sequence[str] = ONEHUB_COMMAND,
    workers: int = 1,
    extra_args: Sequence[str] = (),
) -> Iterator[Server]:
    """Run `onehub serve` on `db_endpoint` with environment `env` until the block ends.

    `command` is how `onehub` is invoked (another one lets a patched build be compared);
    `workers` is its `--workers`; `extra_args` are more `serve` flags.
    """
    args = [
        "serve",
        "--addr=127.0.0.1:0",
        "--gw-addr=127.0.0.1:0",
        f"--db-endpoint={db_endpoint}",
        f"--collector={collector}",
        "--log-level=WARNING",
        f"--workers={workers}",
        *extra_args,
    ]
    with _onehub_process([*command, *args], workdir, env, "serve") as (process, output):
        text = _wait_for(process, output, lambda seen: _SERVE_READY in seen, "onehub serve")
        grpc_match, rest_match = _GRPC_LINE.search(text), _REST_LINE.search(text)
        if grpc_match is None or rest_match is None:
            raise BenchSetupError(f"onehub serve did not announce its addresses:\n{text}")
        yield Server(pid=process.pid, grpc=grpc_match[1], gateway=rest_match[1], log=output)


@dataclass(frozen=True, slots=True)
class BareChain:
    """A running `benchmarks.bare_chain` server: its pid, HTTP address and the topic it serves."""

    pid: int
    http: str
    topic_id: str


@contextmanager
def bare_chain_server(workdir: Path, env: Mapping[str, str]) -> Iterator[BareChain]:
    """Run the bare chain (`python -m benchmarks.bare_chain`) in `workdir` until the block ends."""
    args = [sys.executable, "-m", "benchmarks.bare_chain", str(workdir)]
    # Started from the benchmarks' parent directory, so `benchmarks` is importable there.
    with _onehub_process(args, workdir, {**env, "PYTHONPATH": _BENCH_ROOT}, "bare") as (
        process,
        output,
    ):
        text = _wait_for(process, output, _BARE_READY.search, "the bare chain")
        ready = _BARE_READY.search(text)
        assert ready is not None  # _wait_for returned because it matched
        yield BareChain(pid=process.pid, http=ready["http"], topic_id=ready["topic"])


@contextmanager
def onehub_collector(
    workdir: Path, env: Mapping[str, str], command: Sequence[str] = ONEHUB_COMMAND
) -> Iterator[Collector]:
    """Run `onehub collector` (store in `workdir`) until the block ends."""
    args = [
        "collector",
        "--otlp-grpc-addr=127.0.0.1:0",
        "--otlp-http-addr=127.0.0.1:0",
        "--ui-addr=127.0.0.1:0",
        f"--data-dir={workdir / 'collector-data'}",
    ]
    with _onehub_process([*command, *args], workdir, env, "collector") as (process, output):
        text = _wait_for(process, output, _COLLECTOR_READY.search, "onehub collector")
        ready = _COLLECTOR_READY.search(text)
        assert ready is not None  # _wait_for returned because it matched
        fields = dict(part.split("=", 1) for part in ready[1].split() if "=" in part)
        if "otlp_grpc" not in fields or "ui" not in fields:
            raise BenchSetupError(f"onehub collector announced no addresses: {ready[0]}")
        yield Collector(pid=process.pid, otlp_grpc=fields["otlp_grpc"], ui_url=fields["ui"])


@contextmanager
def _onehub_process(
    args: list[str], workdir: Path, env: Mapping[str, str], name: str
) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    output = workdir / f"{name}-{uuid.uuid4().hex[:8]}.log"
    with open(output, "wb") as sink:
        # Output goes to a file, not a pipe: nobody reads a pipe during the load, and a full
        # pipe would stall the server.
        try:
            process = subprocess.Popen(
                list(args),
                cwd=workdir,
                env=dict(env),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        except OSError as error:
            raise BenchSetupError(f"cannot run {args[0]}: {error.strerror}") from None
    try:
        yield process, output
    finally:
        _stop(process)


def _wait_for(
    process: subprocess.Popen[bytes], output: Path, ready: Callable[[str], object], what: str
) -> str:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        text = output.read_text(errors="replace")
        if ready(text):
            return text
        if process.poll() is not None:
            raise BenchSetupError(f"{what} exited with status {process.returncode}:\n{text}")
        time.sleep(0.05)
    raise BenchSetupError(f"{what} was not ready after {START_TIMEOUT_S:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def sqlite_database(workdir: Path) -> Iterator[str]:
    """A URL for a new SQLite file in `workdir` (removed with the directory)."""
    yield f"sqlite:///{workdir / 'bench.db'}"


@contextmanager
def postgres_schema() -> Iterator[str]:
    """A URL selecting a fresh schema in the `test` database, dropped afterwards.

    Raise BenchSetupError (with the server's reason) when PostgreSQL cannot be reached.
    """
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_postgres_execute(f'CREATE SCHEMA "{schema}"'))
    try:
        separator = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{separator}options={quote(f'-c search_path={schema}')}"
    finally:
        asyncio.run(_postgres_execute(f'DROP SCHEMA "{schema}" CASCADE'))


async def _postgres_execute(statement: str) -> None:
    try:
        connection = await asyncpg.connect(POSTGRES_URL, timeout=10)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        raise BenchSetupError(f"PostgreSQL at {POSTGRES_URL}: {error}") from error
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def scratch_directory() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="onehub-bench-") as directory:
        yield Path(directory)
