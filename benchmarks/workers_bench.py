"""1 vs 2 workers (`onehub serve --workers`): GET topic and POST message through the gateway, on
SQLite and PostgreSQL, the two servers side by side in the same run.

Both servers run untraced (`OTEL_SDK_DISABLED=true`) on databases of their own; repetitions
interleave them (1 worker, 2 workers, 1, 2, ...) so that other work on the machine falls on
both. Server CPU is the supervisor's and every worker's together. On a 2-core machine the load
generator needs CPU too, so two workers cannot both have a core to themselves: hence wrk, a C
client that needs a few per cent of a core where the Python load workers would take most of
one. The throughput ratio says what the machine allows, the server CPU per request whether a
worker costs more.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from benchmarks.clients import OPERATION_LABELS, OPERATIONS, Operation, Target
from benchmarks.load import LoadGenerator
from benchmarks.runs import (
    SUMMARY_HEADERS,
    Repetition,
    RunSettings,
    Summary,
    failure_line,
    load_job,
    measure,
    server_target,
    summarise,
    summary_cells,
)
from benchmarks.servers import child_pids, onehub_server, scratch_directory, untraced_env
from benchmarks.service_bench import Backend, database
from benchmarks.stats import ratio, render_table

WORKER_COUNTS = (1, 2)
#: Two workers against one, on 2 cores: reads should nearly double, writes gain less (SQLite
#: writes one transaction at a time; PostgreSQL shares the machine).
GOALS: dict[Operation, float] = {"get_topic": 1.8, "post_message": 1.5}


@dataclass(frozen=True, slots=True)
class WorkersRow:
    backend: Backend
    operation: Operation
    workers: int
    summary: Summary


def run_workers_benchmark(
    backend: Backend, settings: RunSettings, load: LoadGenerator
) -> list[WorkersRow]:
    """Measure both operations over REST against 1 and 2 workers on fresh `backend` databases,
    with the load from `load` (wrk when installed: see `wrk_load.py`).

    Raise BenchSetupError when a database or a server cannot be started.
    """
    env = untraced_env()
    with ExitStack() as stack:
        targets: dict[int, tuple[Target, dict[str, int]]] = {}
        for workers in WORKER_COUNTS:
            workdir = stack.enter_context(scratch_directory())
            url = stack.enter_context(database(backend, workdir))
            server = stack.enter_context(
                onehub_server(
                    url, workdir, env=env, command=settings.server_command, workers=workers
                )
            )
            watched = {"server": server.pid}
            if workers > 1:
                # Each worker's own CPU too: how evenly the kernel spread the load over them.
                pids = child_pids(server.pid)
                watched |= {f"worker {index}": pid for index, pid in enumerate(pids, 1)}
            targets[workers] = (server_target(server), watched)
        runs: dict[tuple[Operation, int], list[Repetition]] = {}
        for _ in range(settings.repetitions):
            for operation in OPERATIONS:
                for workers, (target, watched) in targets.items():
                    job = load_job(settings, "rest", operation, target)
                    repetition = measure(load, job, watched)
                    runs.setdefault((operation, workers), []).append(repetition)
    wall_s = settings.warmup_s + settings.duration_s
    return [
        WorkersRow(backend, operation, workers, summarise(repetitions, wall_s))
        for (operation, workers), repetitions in runs.items()
    ]


def worker_split(summary: Summary) -> str:
    """Each worker's percentage of the workers' CPU ("71/29"), or "-" for a single process.

    An uneven split means the kernel gave one worker more of the work: SO_REUSEPORT picks a
    worker per connection by a hash of its addresses, for the clients' HTTP connections and for
    the gRPC connection each worker's gateway opens to the shared gRPC port.
    """
    shares = [ms for name, ms in summary.cpu_ms_per_call.items() if name.startswith("worker ")]
    total = sum(shares)
    if len(shares) < 2 or total <= 0:
        return "-"
    return "/".join(f"{100 * share / total:.0f}" for share in shares)


def server_cores(summary: Summary) -> float:
    """The cores the server (supervisor and workers) kept busy: throughput x CPU per request."""
    return summary.throughput * summary.cpu_ms_per_call["server"] / 1000


def workers_report(rows: Sequence[WorkersRow]) -> str:
    """The table of medians (with each worker's share of the server's CPU), then one 2/1 ratio
    line per backend and operation."""
    headers = ["backend", "operation", "workers", *SUMMARY_HEADERS, "worker CPU split"]
    table = [
        [
            row.backend,
            OPERATION_LABELS[row.operation],
            str(row.workers),
            *summary_cells(row.summary),
            worker_split(row.summary),
        ]
        for row in rows
    ]
    lines = [render_table(headers, table, text_columns=3), ""]
    by_key = {(row.backend, row.operation, row.workers): row.summary for row in rows}
    for backend in dict.fromkeys(row.backend for row in rows):
        for operation in OPERATIONS:
            one = by_key.get((backend, operation, 1))
            two = by_key.get((backend, operation, 2))
            if one is None or two is None:
                continue
            throughput = ratio(two.throughput, one.throughput)
            goal = GOALS[operation]
            verdict = "met" if throughput >= goal else "NOT met"
            cpu = ratio(two.cpu_ms_per_call["server"], one.cpu_ms_per_call["server"])
            lines.append(
                f"2/1 workers {backend:<8} {OPERATION_LABELS[operation]:<12}  "
                f"throughput {throughput:.2f} (goal >= {goal}: {verdict})  "
                f"server CPU per request {cpu:.2f}x  "
                f"server busy {server_cores(one):.2f} -> {server_cores(two):.2f} cores"
            )
    for row in rows:
        scenario = f"{row.backend} {OPERATION_LABELS[row.operation]} {row.workers} worker(s)"
        if (line := failure_line(scenario, row.summary)) is not None:
            lines.append(line)
    return "\n".join(lines)
