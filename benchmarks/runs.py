"""One measurement = one load job against a server, with the CPU the server (and any other
watched process, such as the collector) spent on it; repetitions are summarised by their medians."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.clients import Operation, Target, Transport, create_topic
from benchmarks.load import LoadGenerator, LoadJob, LoadResult
from benchmarks.servers import ONEHUB_COMMAND, Server, process_cpu_seconds
from benchmarks.stats import median


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How long and how hard each scenario is driven (the command-line flags)."""

    duration_s: float = 3.0
    warmup_s: float = 1.0
    repetitions: int = 3
    concurrency: int = 16
    processes: int = 1
    #: How to start `onehub` (`--server-command`), to compare a patched build.
    server_command: tuple[str, ...] = ONEHUB_COMMAND


def server_target(server: Server, topic_name: str = "benchmark") -> Target:
    """Create a topic on `server` (as admin, over gRPC) and return where to send its load."""
    topic_id = asyncio.run(create_topic(server.grpc, topic_name))
    return Target(gateway=server.gateway, grpc=server.grpc, topic_id=topic_id)


def load_job(
    settings: RunSettings, transport: Transport, operation: Operation, target: Target
) -> LoadJob:
    """One repetition of a scenario, driven as hard and as long as `settings` say."""
    return LoadJob(
        transport=transport,
        operation=operation,
        target=target,
        concurrency=settings.concurrency,
        warmup_s=settings.warmup_s,
        duration_s=settings.duration_s,
    )


QUICK = RunSettings(duration_s=0.5, warmup_s=0.3, repetitions=1, concurrency=8, processes=1)


@dataclass(frozen=True, slots=True)
class Repetition:
    load: LoadResult
    #: CPU milliseconds per call (warm-up included) of each watched process, by name.
    cpu_ms_per_call: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Summary:
    """The medians of one scenario's repetitions, and every failure any of them saw."""

    throughput: float
    p50_ms: float
    p99_ms: float
    cpu_ms_per_call: Mapping[str, float]
    client_cpu_share: float  # the load workers' CPU over the run's wall time (1.0 = one core)
    failures: int
    first_failure: str | None


def measure(load: LoadGenerator, job: LoadJob, watched: Mapping[str, int]) -> Repetition:
    """Run `job` once on `load`; `watched` maps a name to the pid whose CPU time is charged
    to it."""
    before = {name: process_cpu_seconds(pid) for name, pid in watched.items()}
    result = load.run(job)
    calls = max(result.total_calls, 1)
    cpu = {
        name: (process_cpu_seconds(pid) - before[name]) * 1000 / calls
        for name, pid in watched.items()
    }
    return Repetition(load=result, cpu_ms_per_call=cpu)


def summarise(repetitions: Sequence[Repetition], wall_s: float) -> Summary:
    """Medians over `repetitions`, each of which ran for `wall_s` seconds (warm-up included)."""
    loads = [repetition.load for repetition in repetitions]
    names = repetitions[0].cpu_ms_per_call.keys() if repetitions else ()
    return Summary(
        throughput=median([load.throughput for load in loads]),
        p50_ms=median([load.p50_ms for load in loads]),
        p99_ms=median([load.p99_ms for load in loads]),
        cpu_ms_per_call={
            name: median([repetition.cpu_ms_per_call[name] for repetition in repetitions])
            for name in names
        },
        client_cpu_share=median([load.client_cpu_s / wall_s for load in loads]),
        failures=sum(load.failures for load in loads),
        first_failure=next((load.first_failure for load in loads if load.first_failure), None),
    )


#: The columns of a `Summary` in a report table, after the columns naming the scenario.
SUMMARY_HEADERS = ("req/s", "p50 ms", "p99 ms", "server CPU ms/req", "client CPU", "failed")


def summary_cells(summary: Summary) -> list[str]:
    """A `Summary` as the cells under SUMMARY_HEADERS."""
    return [
        f"{summary.throughput:.0f}",
        f"{summary.p50_ms:.2f}",
        f"{summary.p99_ms:.2f}",
        f"{summary.cpu_ms_per_call['server']:.3f}",
        f"{summary.client_cpu_share:.0%}",
        str(summary.failures),
    ]


def failure_line(scenario: str, summary: Summary) -> str | None:
    """The line that reports a scenario's failed calls, or None if it had none."""
    if not summary.failures:
        return None
    return f"FAILED calls in {scenario}: {summary.failures}, first: {summary.first_failure}"
