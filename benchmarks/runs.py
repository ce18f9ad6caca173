"""One measurement = one load job against a server, with the CPU the server (and any other
watched process, such as the collector) spent on it; repetitions are summarised by their medians."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from benchmarks.load import LoadJob, LoadPool, LoadResult
from benchmarks.servers import ONEHUB_COMMAND, process_cpu_seconds
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


def measure(pool: LoadPool, job: LoadJob, watched: Mapping[str, int]) -> Repetition:
    """Run `job` once; `watched` maps a name to the pid whose CPU time is charged to it."""
    before = {name: process_cpu_seconds(pid) for name, pid in watched.items()}
    result = pool.run(job)
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
