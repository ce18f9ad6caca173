"""GET topic and POST message over REST (through the gateway) and over direct
gRPC, on SQLite and PostgreSQL, with the REST/gRPC throughput ratio measured in the same run.

The server runs with `OTEL_SDK_DISABLED=true`: this benchmark measures the transports; what
telemetry costs on top is the telemetry benchmark's question. Repetitions interleave the
scenarios (REST, gRPC, REST, ...) so that noise from other work on the machine falls on both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from benchmarks.clients import (
    OPERATION_LABELS,
    OPERATIONS,
    TRANSPORTS,
    Operation,
    Transport,
)
from benchmarks.load import LoadPool
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
from benchmarks.servers import (
    onehub_server,
    postgres_schema,
    scratch_directory,
    sqlite_database,
    untraced_env,
)
from benchmarks.stats import ratio, render_table

Backend = Literal["sqlite", "postgres"]
BACKENDS: tuple[Backend, ...] = ("sqlite", "postgres")
REST_TO_GRPC_GOAL = 0.6


@dataclass(frozen=True, slots=True)
class ServiceRow:
    backend: Backend
    operation: Operation
    transport: Transport
    summary: Summary


def run_service_benchmark(
    backend: Backend, settings: RunSettings, pool: LoadPool
) -> list[ServiceRow]:
    """Measure every operation over both transports on a fresh `backend` database.

    Raise BenchSetupError when the database or the server cannot be started.
    """
    env = untraced_env()
    with (
        scratch_directory() as workdir,
        database(backend, workdir) as url,
        onehub_server(url, workdir, env=env, command=settings.server_command) as server,
    ):
        target = server_target(server)
        runs: dict[tuple[Operation, Transport], list[Repetition]] = {}
        for _ in range(settings.repetitions):
            for operation in OPERATIONS:
                for transport in TRANSPORTS:
                    job = load_job(settings, transport, operation, target)
                    repetition = measure(pool, job, {"server": server.pid})
                    runs.setdefault((operation, transport), []).append(repetition)
    wall_s = settings.warmup_s + settings.duration_s
    return [
        ServiceRow(backend, operation, transport, summarise(repetitions, wall_s))
        for (operation, transport), repetitions in runs.items()
    ]


@contextmanager
def database(backend: Backend, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        with sqlite_database(workdir) as url:
            yield url
    else:
        with postgres_schema() as url:
            yield url


def service_report(rows: Sequence[ServiceRow]) -> str:
    """The table of medians, then one REST/gRPC ratio line per backend and operation."""
    headers = ["backend", "operation", "transport", *SUMMARY_HEADERS]
    table = [
        [
            row.backend,
            OPERATION_LABELS[row.operation],
            "REST" if row.transport == "rest" else "gRPC",
            *summary_cells(row.summary),
        ]
        for row in rows
    ]
    lines = [render_table(headers, table, text_columns=3), ""]
    by_key = {(row.backend, row.operation, row.transport): row.summary for row in rows}
    for backend in dict.fromkeys(row.backend for row in rows):
        for operation in dict.fromkeys(row.operation for row in rows if row.backend == backend):
            rest = by_key.get((backend, operation, "rest"))
            grpc = by_key.get((backend, operation, "grpc"))
            if rest is None or grpc is None:
                continue
            throughput = ratio(rest.throughput, grpc.throughput)
            cpu = ratio(rest.cpu_ms_per_call["server"], grpc.cpu_ms_per_call["server"])
            verdict = "met" if throughput >= REST_TO_GRPC_GOAL else "NOT met"
            lines.append(
                f"REST/gRPC {backend:<8} {OPERATION_LABELS[operation]:<12}  "
                f"throughput {throughput:.2f} (goal >= {REST_TO_GRPC_GOAL}: {verdict})  "
                f"server CPU per request {cpu:.2f}x"
            )
    for row in rows:
        scenario = f"{row.backend} {OPERATION_LABELS[row.operation]} {row.transport}"
        if (line := failure_line(scenario, row.summary)) is not None:
            lines.append(line)
    return "\n".join(lines)
