"""What OneHub's REST path costs over the bare chain of the libraries it is built from.

GET topic, in one run with the repetitions interleaved, against:

- the bare chain (`benchmarks/bare_chain.py`): Starlette → grpc.aio over loopback → one
  aiosqlite SELECT → JSON, no OneHub code;
- `onehub serve` with `--gateway-dispatch network` (the default, the original's gRPC hop),
  untraced (`OTEL_SDK_DISABLED=true`) and traced (every request, exported over OTLP/gRPC to
  `onehub collector` in its own process);
- the same with `--gateway-dispatch in-process`, untraced and traced.

Every OneHub server runs on SQLite. The ratios are taken within the run: untraced/bare and
traced/untraced for each dispatch, against the goals for the default one. The load comes from
wrk when it is installed: the bare chain answers faster than OneHub, and a Python client would
cap it first (and take CPU from whichever server it drives).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.clients import Target, create_topic
from benchmarks.load import LoadGenerator, LoadJob
from benchmarks.runs import Repetition, RunSettings, Summary, measure, summarise
from benchmarks.servers import (
    bare_chain_server,
    onehub_collector,
    onehub_server,
    scratch_directory,
    sqlite_database,
)
from benchmarks.stats import ratio, render_table

UNTRACED_OVER_BARE_GOAL = 0.6
TRACED_OVER_UNTRACED_GOAL = 0.8
DISPATCHES = ("network", "in-process")
BARE = "bare chain"


@dataclass(frozen=True, slots=True)
class _Scenario:
    label: str
    target: Target
    pid: int


@dataclass(frozen=True, slots=True)
class DispatchResult:
    #: By scenario label: BARE, then "{dispatch} untraced" / "{dispatch} traced".
    summaries: dict[str, Summary]
    load_average: tuple[float, float, float]


def scenario_label(dispatch: str, traced: bool) -> str:
    return f"{dispatch} {'traced' if traced else 'untraced'}"


def run_dispatch_benchmark(settings: RunSettings, load: LoadGenerator) -> DispatchResult:
    """Measure GET topic on the bare chain and on OneHub in every dispatch, traced and not,
    with the load from `load` (wrk when installed: see `wrk_load.py`).

    Raise BenchSetupError when a server or the collector cannot be started.
    """
    with _scenarios(settings) as scenarios:
        runs: dict[str, list[Repetition]] = {s.label: [] for s in scenarios}
        for _ in range(settings.repetitions):
            for scenario in scenarios:
                job = LoadJob(
                    transport="rest",
                    operation="get_topic",
                    target=scenario.target,
                    concurrency=settings.concurrency,
                    warmup_s=settings.warmup_s,
                    duration_s=settings.duration_s,
                )
                runs[scenario.label].append(measure(load, job, {"server": scenario.pid}))
    wall_s = settings.warmup_s + settings.duration_s
    return DispatchResult(
        summaries={label: summarise(each, wall_s) for label, each in runs.items()},
        load_average=os.getloadavg(),
    )


@contextlib.contextmanager
def _scenarios(settings: RunSettings) -> Iterator[list[_Scenario]]:
    traced_env = {k: v for k, v in os.environ.items() if k != "OTEL_SDK_DISABLED"}
    untraced_env = {**os.environ, "OTEL_SDK_DISABLED": "true"}
    with scratch_directory() as workdir, contextlib.ExitStack() as stack:
        collector_dir = _directory(workdir, "collector")
        collector = stack.enter_context(
            onehub_collector(collector_dir, untraced_env, settings.server_command)
        )
        bare = stack.enter_context(bare_chain_server(_directory(workdir, "bare"), untraced_env))
        scenarios = [_Scenario(BARE, Target(bare.http, "", bare.topic_id), bare.pid)]
        for dispatch in DISPATCHES:
            for traced in (False, True):
                label = scenario_label(dispatch, traced)
                directory = _directory(workdir, label.replace(" ", "-"))
                url = stack.enter_context(sqlite_database(directory))
                server = stack.enter_context(
                    onehub_server(
                        url,
                        directory,
                        env=traced_env if traced else untraced_env,
                        collector=collector.otlp_grpc if traced else "none",
                        command=settings.server_command,
                        extra_args=[f"--gateway-dispatch={dispatch}"],
                    )
                )
                topic_id = asyncio.run(create_topic(server.grpc, "benchmark"))
                target = Target(gateway=server.gateway, grpc=server.grpc, topic_id=topic_id)
                scenarios.append(_Scenario(label, target, server.pid))
        yield scenarios


def _directory(parent: Path, name: str) -> Path:
    path = parent / name
    path.mkdir()
    return path


def dispatch_report(result: DispatchResult) -> str:
    """The table of the five scenarios, then the ratios against their goals."""
    headers = ["GET topic", "req/s", "p50 ms", "p99 ms", "server CPU ms/req", "failed"]
    rows = [_row(label, summary) for label, summary in result.summaries.items()]
    bare = result.summaries[BARE].throughput
    lines = [render_table(headers, rows), ""]
    for dispatch in DISPATCHES:
        untraced = result.summaries[scenario_label(dispatch, False)].throughput
        traced = result.summaries[scenario_label(dispatch, True)].throughput
        default = dispatch == DISPATCHES[0]
        lines.append(
            f"{dispatch}: untraced/bare {ratio(untraced, bare):.2f}"
            + _goal(ratio(untraced, bare), UNTRACED_OVER_BARE_GOAL, default)
            + f", traced/untraced {ratio(traced, untraced):.2f}"
            + _goal(ratio(traced, untraced), TRACED_OVER_UNTRACED_GOAL, default)
            + f", traced/bare {ratio(traced, bare):.2f}"
        )
    network = result.summaries[scenario_label("network", True)].throughput
    local = result.summaries[scenario_label("in-process", True)].throughput
    lines.append(f"in-process/network, traced: {ratio(local, network):.2f}")
    load = ", ".join(f"{value:.1f}" for value in result.load_average)
    lines.append(f"load average at the end: {load}")
    for label, summary in result.summaries.items():
        if summary.failures:
            lines.append(f"FAILED calls ({label}): {summary.failures}, {summary.first_failure}")
    return "\n".join(lines)


def _goal(value: float, goal: float, applies: bool) -> str:
    if not applies:
        return ""
    return f" (goal >= {goal}: {'met' if value >= goal else 'NOT met'})"


def _row(label: str, summary: Summary) -> Sequence[str]:
    return [
        label,
        f"{summary.throughput:.0f}",
        f"{summary.p50_ms:.2f}",
        f"{summary.p99_ms:.2f}",
        f"{summary.cpu_ms_per_call['server']:.3f}",
        str(summary.failures),
    ]
