"""`python -m benchmarks`: run the service and telemetry benchmarks, print their tables, then
hand over to the collector's benchmarks (`python -m benchmarks.collector`) if they exist.

Exit status: 0 when every selected benchmark ran and every call succeeded; 1 when one could not
start (its reason is printed and the others still run) or saw failed calls; 2 for bad usage.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from benchmarks.dispatch_bench import dispatch_report, run_dispatch_benchmark
from benchmarks.import_bench import import_report, run_import_benchmark
from benchmarks.load import LoadError, LoadGenerator, LoadPool
from benchmarks.runs import QUICK, RunSettings, Summary
from benchmarks.scale_bench import (
    QUICK_SAMPLES,
    QUICK_SIZES,
    SAMPLES,
    SIZES,
    run_scale_benchmark,
    scale_report,
)
from benchmarks.servers import BenchSetupError
from benchmarks.service_bench import BACKENDS, Backend, run_service_benchmark, service_report
from benchmarks.telemetry_bench import run_telemetry_benchmark, telemetry_report
from benchmarks.workers_bench import run_workers_benchmark, workers_report
from benchmarks.wrk_load import INSTALL_HINT, WrkLoad

SERVICE_NAMES = BACKENDS
NAMES = (*SERVICE_NAMES, "import", "telemetry", "dispatch", "workers", "scale", "collector")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="OneHub's benchmarks: REST vs gRPC on SQLite and PostgreSQL, the cost of "
        "telemetry, then the collector's own benchmarks if present.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one short repetition of each scenario (a smoke run; numbers are rough)",
    )
    parser.add_argument("--duration", type=_positive, metavar="S", help="measured seconds per run")
    parser.add_argument("--warmup", type=_positive, metavar="S", help="warm-up seconds per run")
    parser.add_argument("--repetitions", type=_count, metavar="N", help="runs per scenario")
    parser.add_argument("--concurrency", type=_count, metavar="N", help="calls in flight")
    parser.add_argument("--processes", type=_count, metavar="N", help="load worker processes")
    parser.add_argument(
        "--server-command",
        metavar="CMD",
        help="how to start onehub, e.g. 'python patched.py' to compare a patched build "
        "(default: this interpreter with -m onehub)",
    )
    parser.add_argument(
        "--backend",
        action="append",
        choices=BACKENDS,
        metavar="DB",
        help="run the import, workers and scale benchmarks on this database only (repeatable): "
        f"{', '.join(BACKENDS)}",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=NAMES,
        metavar="NAME",
        help=f"run only this benchmark (repeatable): {', '.join(NAMES)}",
    )
    return parser


def _positive(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive number of seconds")
    return value


def _count(raw: str) -> int:
    if not raw.isdigit() or int(raw) < 1:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a positive whole number")
    return int(raw)


def settings_from_args(args: argparse.Namespace) -> RunSettings:
    base = QUICK if args.quick else RunSettings()
    return RunSettings(
        duration_s=args.duration or base.duration_s,
        warmup_s=args.warmup or base.warmup_s,
        repetitions=args.repetitions or base.repetitions,
        concurrency=args.concurrency or base.concurrency,
        processes=args.processes or base.processes,
        server_command=_command(args.server_command)
        if args.server_command
        else base.server_command,
    )


def _command(raw: str) -> tuple[str, ...]:
    # Servers run in their own scratch directory: a relative program path must not break there.
    program, *rest = shlex.split(raw) or [""]
    return (os.path.abspath(program) if os.sep in program else program, *rest)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = settings_from_args(args)
    selected = tuple(args.only) if args.only else NAMES
    backends = tuple(args.backend) if args.backend else BACKENDS
    started = time.monotonic()
    print(_header(settings), flush=True)
    ok = True
    wrk = WrkLoad.find()
    with LoadPool(settings.processes) as pool:
        # REST-only rows where the client's CPU would cap the server take wrk when it is here.
        rest_load: LoadGenerator = pool if wrk is None else wrk
        rest_load_line = _rest_load_line(wrk, settings)
        for backend in (name for name in SERVICE_NAMES if name in selected):
            _section(f"REST vs gRPC on {backend}", _pool_load_line(settings))
            ok = (
                _print_report(
                    backend,
                    functools.partial(run_service_benchmark, backend, settings, pool),
                    service_report,
                )
                and ok
            )
        if "import" in selected:
            _section("Bulk import over REST: POST /v1/messages:import, one batch at a time")
            ok = _run_import_benchmarks(settings, backends) and ok
        if "telemetry" in selected:
            _section(
                "Telemetry cost: GET topic via the gateway, traced vs untraced (SQLite)",
                _pool_load_line(settings),
            )
            try:
                result = run_telemetry_benchmark(settings, pool)
            except (BenchSetupError, LoadError) as error:
                print(f"telemetry: could not run: {error}", flush=True)
                ok = False
            else:
                print(telemetry_report(result), flush=True)
                ok = ok and not (result.traced.failures or result.untraced.failures)
        if "dispatch" in selected:
            _section(
                "Gateway dispatch: GET topic on the bare chain and on OneHub (SQLite)",
                rest_load_line,
            )
            try:
                dispatch = run_dispatch_benchmark(settings, rest_load)
            except (BenchSetupError, LoadError) as error:
                print(f"dispatch: could not run: {error}", flush=True)
                ok = False
            else:
                print(dispatch_report(dispatch), flush=True)
                ok = ok and not any(s.failures for s in dispatch.summaries.values())
        if "workers" in selected:
            ok = _run_workers_benchmarks(settings, rest_load, rest_load_line, backends) and ok
    if "scale" in selected:
        _section("Cost against data size: one topic of 1k to 1M messages, via the gateway")
        ok = _run_scale_benchmarks(settings, backends, quick=args.quick) and ok
    if any(
        name in selected
        for name in (*SERVICE_NAMES, "import", "telemetry", "dispatch", "workers", "scale")
    ):
        print(f"\nservice benchmarks took {time.monotonic() - started:.0f} s", flush=True)
    if "collector" in selected:
        ok = _run_collector_benchmarks(args.quick) and ok
    return 0 if ok else 1


def _run_workers_benchmarks(
    settings: RunSettings, load: LoadGenerator, load_line: str, backends: Sequence[Backend]
) -> bool:
    ok = True
    for backend in backends:
        _section(
            f"Workers on {backend}: 1 vs 2 (onehub serve --workers), REST, side by side", load_line
        )
        ok = (
            _print_report(
                f"workers on {backend}",
                functools.partial(run_workers_benchmark, backend, settings, load),
                workers_report,
            )
            and ok
        )
    return ok


class _SummaryRow(Protocol):
    @property
    def summary(self) -> Summary: ...


_Row = TypeVar("_Row", bound=_SummaryRow)


def _print_report(
    name: str, run: Callable[[], list[_Row]], report: Callable[[Sequence[_Row]], str]
) -> bool:
    """Run one load benchmark and print its report; False if it could not run or a call failed."""
    try:
        rows = run()
    except (BenchSetupError, LoadError) as error:
        print(f"{name}: could not run: {error}", flush=True)
        return False
    print(report(rows), flush=True)
    return not any(row.summary.failures for row in rows)


def _run_import_benchmarks(settings: RunSettings, backends: Sequence[Backend]) -> bool:
    rows = []
    ok = True
    for backend in backends:
        try:
            rows.extend(run_import_benchmark(backend, settings))
        except BenchSetupError as error:
            print(f"import on {backend}: could not run: {error}", flush=True)
            ok = False
    if rows:
        print(import_report(rows), flush=True)
    return ok and not any(row.failures for row in rows)


def _run_scale_benchmarks(
    settings: RunSettings, backends: Sequence[Backend], *, quick: bool
) -> bool:
    sizes, samples = (QUICK_SIZES, QUICK_SAMPLES) if quick else (SIZES, SAMPLES)
    rows = []
    ok = True
    for backend in backends:
        try:
            rows.extend(run_scale_benchmark(backend, settings, sizes, samples))
        except BenchSetupError as error:
            print(f"scale on {backend}: could not run: {error}", flush=True)
            ok = False
    if rows:
        print(scale_report(rows), flush=True)
    for row in rows:
        if row.failures:
            print(f"scale on {row.backend}, {row.messages:,}: {row.failures} failed calls")
    return ok and not any(row.failures for row in rows)


def _header(settings: RunSettings) -> str:
    cores = os.cpu_count() or 0
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return "\n".join(
        [
            "OneHub benchmarks",
            f"machine: {cores} CPU cores ({platform.machine()}, Python "
            f"{platform.python_version()}), load average {load} at start",
            f"  only {cores} cores: the server, the load workers (and the collector) share them, "
            "so absolute numbers",
            "  are low and noisy; compare the ratios, measured side by side in the same run.",
            f"load: {settings.concurrency} calls in flight, warm-up {settings.warmup_s:g} s, "
            f"{settings.duration_s:g} s measured, median of {settings.repetitions} run(s); "
            "each section says what sends them",
            "REST: raw HTTP/1.1 keep-alive, Basic admin; gRPC: grpc.aio stubs; dev auth",
        ]
    )


def _section(title: str, load_line: str | None = None) -> None:
    """A section's title, and what drives its load if it has any."""
    print(f"\n== {title}", flush=True)
    if load_line is not None:
        print(load_line, flush=True)


def _pool_load_line(settings: RunSettings) -> str:
    return (
        f"load: the Python load workers ({settings.processes} process(es), "
        f"{settings.concurrency} callers), closed loop"
    )


def _rest_load_line(wrk: WrkLoad | None, settings: RunSettings) -> str:
    if wrk is not None:
        return wrk.describe(settings.concurrency)
    return (
        f"{_pool_load_line(settings)}, as wrk is not installed: the client takes CPU the server "
        f"could use, which lowers these figures; to get wrk: {INSTALL_HINT}"
    )


def _run_collector_benchmarks(quick: bool) -> bool:
    """Run `python -m benchmarks.collector` in its own process, if that module exists."""
    try:
        spec = importlib.util.find_spec("benchmarks.collector.__main__")
    except ImportError:
        spec = None
    if spec is None:
        print("\ncollector benchmarks: not present (benchmarks/collector/__main__.py)", flush=True)
        return True
    _section("Collector benchmarks (python -m benchmarks.collector)")
    command = [sys.executable, "-m", "benchmarks.collector", *(["--quick"] if quick else [])]
    status = subprocess.run(command, check=False).returncode
    if status != 0:
        print(f"collector benchmarks exited with status {status}", flush=True)
    return status == 0
