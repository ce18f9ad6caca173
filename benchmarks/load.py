"""Closed-loop load from worker processes: N callers each send a request, wait for the answer,
send the next. A warm-up is run and thrown away, then every completed call in the measured window
is counted and timed. Each worker runs `onehub.cli.load_engine`, the engine of `onehub loadgen`
(unpaced here, with a warm-up window), so both count and time calls the same way.

The entry point is `LoadPool.run(job)` (worker processes, reused between jobs); `run_job(job)`
runs one job in the calling process's event loop.

`LoadPool` owns the worker processes (spawned, not forked: the parent may hold gRPC and asyncio
state that must not be copied) and reuses them for every job, so a repetition costs no interpreter
start. A job's total concurrency is split across the workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from types import TracebackType
from typing import Protocol

import grpc

from benchmarks.clients import Operation, RestCaller, Target, Transport, grpc_call, rest_request
from onehub.app import event_loop
from onehub.cli.latency import LatencySummary
from onehub.cli.load_engine import Call, Schedule, Tally, drive

# Callers share gRPC channels (HTTP/2 multiplexes calls); a few channels spread them over more
# than one connection, as several client hosts would.
CALLERS_PER_CHANNEL = 8
_PAUSE_AFTER_FAILURE_S = 0.01
_WORKER_START_TIMEOUT_S = 60.0


class LoadError(RuntimeError):
    """A worker could not run a job at all (not: some calls failed, which results count)."""


@dataclass(frozen=True, slots=True)
class LoadJob:
    transport: Transport
    operation: Operation
    target: Target
    concurrency: int
    warmup_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class WorkerSample:
    """What one worker saw: calls completed in the window, their latencies (seconds), failures."""

    completed: int
    warmup_completed: int
    failures: int
    first_failure: str | None
    latencies: list[float]
    window_s: float
    cpu_s: float


@dataclass(frozen=True, slots=True)
class LoadResult:
    """One job's outcome over every worker."""

    throughput: float  # successful calls per second in the measured window
    p50_ms: float
    p99_ms: float
    completed: int
    total_calls: int  # warm-up and window, for CPU-per-call figures
    failures: int
    first_failure: str | None
    client_cpu_s: float


class LoadGenerator(Protocol):
    """What runs a job: `LoadPool` (Python workers, REST and gRPC) or `wrk_load.WrkLoad`."""

    def run(self, job: LoadJob) -> LoadResult:
        """Run `job` and return what it measured; LoadError if it could not run at all."""
        ...


class LoadPool:
    """`processes` reusable load workers. Use as a context manager; `run` one job at a time."""

    def __init__(self, processes: int) -> None:
        if processes < 1:
            raise ValueError("a load pool needs at least one process")
        self._count = processes
        self._workers: list[tuple[BaseProcess, Connection]] = []

    def __enter__(self) -> LoadPool:
        context = multiprocessing.get_context("spawn")
        for index in range(self._count):
            parent, child = context.Pipe()
            process = context.Process(
                target=_worker_main, args=(child,), name=f"bench-load-{index}", daemon=True
            )
            process.start()
            child.close()
            self._workers.append((process, parent))
        for worker, parent in self._workers:
            if _receive(parent, _WORKER_START_TIMEOUT_S) != "ready":
                self.__exit__(None, None, None)  # no worker may outlive a failed start
                raise LoadError(f"load worker {worker.name} did not start")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for _, parent in self._workers:
            with contextlib.suppress(OSError):  # the worker is already gone
                parent.send(None)
        for process, parent in self._workers:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()
            parent.close()
        self._workers.clear()

    def run(self, job: LoadJob) -> LoadResult:
        """Run `job` on every worker at once (its concurrency split between them) and merge.

        Raise LoadError if a worker crashed or could not open its connections.
        """
        if job.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        shares = _split(job.concurrency, len(self._workers))
        busy = [
            (w, replace(job, concurrency=n))
            for w, n in zip(self._workers, shares, strict=True)
            if n
        ]
        for (_, parent), share in busy:
            parent.send(share)
        samples: list[WorkerSample] = []
        deadline = job.warmup_s + job.duration_s + 60.0
        for (process, parent), _ in busy:
            outcome = _receive(parent, deadline)
            if outcome is None:
                raise LoadError(f"load worker {process.name} died or did not finish its job")
            if not isinstance(outcome, WorkerSample):
                raise LoadError(f"load worker {process.name}: {outcome}")
            samples.append(outcome)
        return merge(samples)


def _receive(connection: Connection, timeout_s: float) -> object:
    """The next message from a worker, or None if it sent nothing in time or has gone."""
    try:
        return connection.recv() if connection.poll(timeout_s) else None
    except (EOFError, OSError):
        return None


def merge(samples: Sequence[WorkerSample]) -> LoadResult:
    latency = LatencySummary.of(latency for sample in samples for latency in sample.latencies)
    first = next((s.first_failure for s in samples if s.first_failure), None)
    return LoadResult(
        throughput=sum(s.completed / s.window_s for s in samples if s.window_s > 0),
        p50_ms=latency.p50_ms,
        p99_ms=latency.p99_ms,
        completed=sum(s.completed for s in samples),
        total_calls=sum(s.completed + s.warmup_completed for s in samples),
        failures=sum(s.failures for s in samples),
        first_failure=first,
        client_cpu_s=sum(s.cpu_s for s in samples),
    )


def _split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def _worker_main(connection: Connection) -> None:
    connection.send("ready")
    while True:
        job = connection.recv()
        if job is None:
            return
        try:
            # The loop the server runs on too (uvloop where installed): less client CPU.
            connection.send(event_loop.run(run_job(job), "auto"))
        except Exception as error:  # reported to the parent, which raises LoadError
            connection.send(f"{type(error).__name__}: {error}")


async def run_job(job: LoadJob) -> WorkerSample:
    """Run `job` in this process's event loop on the load engine and return what it measured.

    This is one worker's share of a job; `LoadPool.run` splits a job over processes and merges.
    """
    cpu_start = time.process_time()
    schedule = Schedule(clock=time.perf_counter, rate=0.0, duration_s=job.warmup_s + job.duration_s)
    window_opens = schedule.start + job.warmup_s
    tally = Tally(opens_at=window_opens, closes_at=schedule.deadline)
    channels: list[grpc.aio.Channel] = []
    rest_callers: list[RestCaller] = []
    callers: list[Call]
    try:
        if job.transport == "rest":
            request = rest_request(job.target, job.operation)
            rest_callers = [RestCaller(job.target.gateway, request) for _ in range(job.concurrency)]
            callers = list(rest_callers)
        else:
            count = -(-job.concurrency // CALLERS_PER_CHANNEL)
            channels = [grpc.aio.insecure_channel(job.target.grpc) for _ in range(count)]
            calls = [grpc_call(channel, job.target, job.operation) for channel in channels]
            callers = [calls[index % count] for index in range(job.concurrency)]
        await drive(schedule, callers, tally, pause_after_failure_s=_PAUSE_AFTER_FAILURE_S)
    finally:
        for caller in rest_callers:
            await caller.close()
        for channel in channels:
            await channel.close(None)
    return WorkerSample(
        completed=len(tally.latencies),
        warmup_completed=tally.warmup_ok,
        failures=tally.failures,
        first_failure=None if tally.first_error is None else str(tally.first_error),
        latencies=tally.latencies,
        window_s=tally.window_s,
        cpu_s=time.process_time() - cpu_start,
    )
