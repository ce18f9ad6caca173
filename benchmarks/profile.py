"""`python -m benchmarks.profile SCENARIO`: put a scenario's load on a fresh `onehub serve` and
sample the server with py-spy, then print where its time goes.

Scenarios: `rest` (GET topic through the gateway), `grpc` (GET topic, direct gRPC) and `traced`
(the REST path with every request traced and exported to `onehub collector`). `--operation
post_message` profiles POST message instead. The raw py-spy output is kept (`--out DIR`); open it
with `--format speedscope` runs of your own, or read the summary printed here:

- by area: self time per layer (gateway, gRPC, telemetry, SQLAlchemy, ...), from the file of the
  innermost frame of each sample;
- the functions with the most self time, and those with the most inclusive time.

py-spy must be able to ptrace the server (root, or `kernel.yama.ptrace_scope=0`).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clients import OPERATIONS, Operation
from benchmarks.load import LoadJob, LoadPool
from benchmarks.runs import server_target
from benchmarks.servers import (
    BenchSetupError,
    Server,
    onehub_collector,
    onehub_server,
    scratch_directory,
    sqlite_database,
    traced_env,
    untraced_env,
)
from benchmarks.stats import render_table

SCENARIOS = ("rest", "grpc", "traced")
_TOP = 25

# Innermost-frame file paths (py-spy records full paths) → the layer they belong to. First match
# wins, so the more specific fragments come first.
AREAS: tuple[tuple[str, str], ...] = (
    ("/onehub/transport/gateway/", "onehub gateway"),
    ("/onehub/transport/grpc/", "onehub gRPC servicers"),
    ("/onehub/telemetry/", "onehub telemetry"),
    ("/onehub/services/", "onehub services"),
    ("/onehub/storage/", "onehub storage"),
    ("/onehub/", "onehub other"),
    ("/opentelemetry/exporter/", "OTel exporters (encoding, export)"),
    ("/opentelemetry/instrumentation/", "OTel instrumentation"),
    ("/opentelemetry/sdk/metrics/", "OTel SDK metrics"),
    ("/opentelemetry/sdk/", "OTel SDK traces, logs"),
    ("/opentelemetry/", "OTel API"),
    ("/grpc/", "grpcio (Python part)"),
    ("/google/protobuf/", "protobuf"),
    ("/sqlalchemy/", "SQLAlchemy"),
    ("/aiosqlite/", "aiosqlite"),
    ("/asyncpg/", "asyncpg"),
    ("/starlette/", "Starlette"),
    ("/uvicorn/", "uvicorn"),
    ("/h11/", "h11 (HTTP parsing)"),
    ("/asyncio/", "asyncio"),
    ("/json/", "json"),
    ("/logging/", "logging"),
    ("/threading.py", "threads"),
    ("/concurrent/", "threads"),
)
# Path prefixes dropped when showing a frame: site-packages, the source tree, the stdlib.
_NOISE = ("site-packages/", "/src/", "/lib/python3.")


@dataclass(frozen=True, slots=True)
class Profile:
    samples: int
    by_area: Counter[str]
    self_time: Counter[str]
    inclusive: Counter[str]


def parse_raw(text: str) -> Profile:
    """Aggregate py-spy's raw (collapsed-stack) output: `outer;...;inner COUNT` per line."""
    by_area: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    samples = 0
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [frame for frame in stack.split(";") if frame]
        if not frames:
            continue
        samples += count
        inner = frames[-1]
        self_time[inner] += count
        by_area[area_of(inner)] += count
        for frame in set(frames):
            inclusive[frame] += count
    return Profile(samples, by_area, self_time, inclusive)


def area_of(frame: str) -> str:
    """The layer of a frame written `function (/full/path/to/file.py)` (or with `:line`)."""
    location = frame.rpartition("(")[2].rstrip(")")
    for fragment, area in AREAS:
        if fragment in location:
            return area
    return "other (stdlib, native)"


def short(frame: str) -> str:
    """`function (package/module.py)`: the frame without its site-packages or tree prefix."""
    name, _, location = frame.rpartition(" (")
    for noise in _NOISE:
        if noise in location:
            location = location.rpartition(noise)[2]
            if noise == "/lib/python3.":
                location = location.partition("/")[2]  # drop the minor version
            break
    return f"{name} ({location}" if name else frame


def profile_report(profile: Profile, title: str) -> str:
    def share(count: int) -> str:
        return f"{count / profile.samples:.1%}" if profile.samples else "-"

    def rows(counter: Counter[str]) -> list[list[str]]:
        return [[short(name)[:110], share(count)] for name, count in counter.most_common(_TOP)]

    return "\n\n".join(
        [
            f"== {title}: {profile.samples} samples (active threads)",
            render_table(["area (innermost frame)", "self"], rows(profile.by_area)),
            render_table(["function (self time)", "self"], rows(profile.self_time)),
            render_table(["function (inclusive time)", "incl."], rows(profile.inclusive)),
        ]
    )


def start_recording(
    pid: int, seconds: float, output: Path, *, gil_only: bool, native: bool, rate: int
) -> subprocess.Popen[str]:
    """Start py-spy sampling `pid` for `seconds` into `output` (raw format)."""
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    command = [py_spy, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds)))]
    command += ["--rate", str(rate), "--format", "raw", "--nolineno", "--full-filenames"]
    command += ["--output", str(output)]
    if gil_only:
        command.append("--gil")
    if native:
        command.append("--native")
    try:
        return subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
    except OSError as error:
        raise BenchSetupError(f"cannot run py-spy ({py_spy}): {error.strerror}") from None


def finish_recording(recording: subprocess.Popen[str]) -> None:
    """Wait for py-spy; BenchSetupError with its output if it failed."""
    output, _ = recording.communicate()
    if recording.returncode != 0:
        raise BenchSetupError(f"py-spy failed: {output.strip()}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("scenario", choices=SCENARIOS)
    parser.add_argument("--operation", choices=OPERATIONS, default="get_topic")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds sampled")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--gil", action="store_true", help="only samples holding the GIL")
    parser.add_argument("--native", action="store_true", help="include C/Cython frames")
    parser.add_argument("--out", type=Path, default=Path(".data/profiles"))
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    output = args.out.resolve() / f"{args.scenario}-{args.operation}-{int(time.time())}.txt"
    with LoadPool(1) as pool, scratch_directory() as workdir, ExitStack() as stack:
        url = stack.enter_context(sqlite_database(workdir))
        env = untraced_env()
        if args.scenario == "traced":
            (workdir / "collector").mkdir()
            collector = stack.enter_context(onehub_collector(workdir / "collector", env))
            env_traced = traced_env()
            server = stack.enter_context(
                onehub_server(url, workdir, env=env_traced, collector=collector.otlp_grpc)
            )
        else:
            server = stack.enter_context(onehub_server(url, workdir, env=env))
        _profile_under_load(pool, server, args, output)
    print(profile_report(parse_raw(output.read_text()), f"{args.scenario} {args.operation}"))
    print(f"\nraw samples: {output}")
    return 0


def _profile_under_load(
    pool: LoadPool, server: Server, args: argparse.Namespace, output: Path
) -> None:
    target = server_target(server, "profile")
    operation: Operation = args.operation

    def job(seconds: float) -> LoadJob:
        return LoadJob(
            transport="grpc" if args.scenario == "grpc" else "rest",
            operation=operation,
            target=target,
            concurrency=args.concurrency,
            warmup_s=0.2,
            duration_s=seconds,
        )

    pool.run(job(1.0))  # warm-up, not sampled
    # py-spy stops by itself before the load does, so every sample is taken under load.
    recording = start_recording(
        server.pid, args.duration, output, gil_only=args.gil, native=args.native, rate=args.rate
    )
    result = pool.run(job(args.duration + 1.5))
    finish_recording(recording)
    print(
        f"load during the profile: {result.throughput:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
        f"p99 {result.p99_ms:.1f} ms, {result.failures} failed",
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
