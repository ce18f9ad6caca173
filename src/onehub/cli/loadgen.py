"""The load generator's core: a paced, bounded run of creates and a latency report.

A run creates `users` users, then `topics` topics (every user a member), then messages from
those users in those topics until `count` operations were issued or `duration` seconds passed,
whichever is first. Everything it creates is named after its run id (`loadgen-<run id>-user-0`,
`loadgen-<run id>-topic-0`), so it never mixes with anyone's data, and `remove_run` deletes
its topics (their messages go with them) and its users afterwards.

Operations start on a fixed schedule (operation k at start + k / rate) so the offered rate
does not sag when the server slows down, with at most `concurrency` in flight: the schedule,
the callers and the booking are `load_engine`'s, the engine the benchmarks drive too. It
always stops by itself: nothing starts after the deadline, and calls still running at
deadline + `call_timeout` are cancelled.

The transport is a `LoadClient`; `loadgen_clients` has the gRPC and REST ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from onehub.config import ConfigError, is_loopback

from .latency import LatencySummary

# OperationError is part of this module's interface (LoadClient raises it); it is defined with
# the engine, which the benchmarks share.
from .load_engine import OperationError as OperationError
from .load_engine import Schedule, Tally, drive
from .loadgen_progress import LatencyHistogram, Progress
from .output import format_table

CREATE_USER = "create_user"
CREATE_TOPIC = "create_topic"
CREATE_MESSAGE = "create_message"
OPERATIONS = (CREATE_USER, CREATE_TOPIC, CREATE_MESSAGE)

# Hard ceilings: a typo must not turn into an hour-long or unbounded run.
MAX_DURATION_S = 3600.0
MAX_COUNT = 10_000_000
MAX_CONCURRENCY = 1000
MAX_RATE = 100_000.0
PERCENTILES = (50, 90, 99)
# What every id a run creates starts with; `loadgen-<run id>-` is one run's.
ID_PREFIX = "loadgen-"
PROGRESS_EVERY_S = 1.0


class LoadgenError(Exception):
    """The run cannot start or cannot go on; the message is one line for the user."""


class LoadClient(Protocol):
    """The calls a run makes. Each raises OperationError when the server refuses it."""

    async def create_user(self, user_id: str, name: str) -> None: ...

    async def create_topic(self, topic_id: str, name: str, members: Sequence[str]) -> None: ...

    async def create_message(self, topic_id: str, creator_id: str, text: str) -> None:
        """Post as admin on behalf of `creator_id` (allow_userids)."""

    async def delete_topic(self, topic_id: str) -> None:
        """Delete the topic and its messages; OperationError("NOT_FOUND") if it is gone."""

    async def delete_user(self, user_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class LoadPlan:
    rate: float = 50.0  # operations per second offered in total; 0 = as fast as possible
    duration: float = 10.0  # seconds after which no operation starts
    count: int | None = None  # operations in total, setup included; None = until duration
    concurrency: int = 8
    users: int = 3
    topics: int = 3
    call_timeout: float = 10.0
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))

    def validate(self) -> LoadPlan:
        """Return self, or raise LoadgenError naming the first bad setting."""
        if not 0 <= self.rate <= MAX_RATE:
            raise LoadgenError(f"--rate must be between 0 (unpaced) and {MAX_RATE:g}")
        if not 0 < self.duration <= MAX_DURATION_S:
            raise LoadgenError(f"--duration must be between 0 and {MAX_DURATION_S:g} seconds")
        if not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise LoadgenError(f"--concurrency must be between 1 and {MAX_CONCURRENCY}")
        if self.users < 1 or self.topics < 1:
            raise LoadgenError("--users and --topics must be at least 1")
        if self.count is not None and not self.users + self.topics < self.count <= MAX_COUNT:
            raise LoadgenError(
                f"--count must exceed --users + --topics ({self.users + self.topics}), "
                f"so that some messages are sent, and be at most {MAX_COUNT}"
            )
        if self.call_timeout <= 0:
            raise LoadgenError("--timeout must be positive")
        if not self.run_id.isalnum():
            raise LoadgenError("the run id must be letters and digits")
        return self

    def user_ids(self) -> list[str]:
        return [f"{ID_PREFIX}{self.run_id}-user-{i}" for i in range(self.users)]

    def topic_ids(self) -> list[str]:
        return [f"{ID_PREFIX}{self.run_id}-topic-{i}" for i in range(self.topics)]


@dataclass(frozen=True, slots=True)
class Cleanup:
    """What a run deleted of what it created, and the calls that failed (as error lines)."""

    topics: int
    users: int
    failures: Sequence[str]

    def line(self) -> str:
        done = f"cleanup: deleted {self.topics} topics (with their messages) and {self.users} users"
        if self.failures:
            return f"{done}; could not delete {len(self.failures)}, first {self.failures[0]}"
        return done


@dataclass(frozen=True, slots=True)
class OperationStats:
    """Latencies in milliseconds, over the successful calls of one operation."""

    name: str
    ok: int
    errors: Mapping[str, int]
    throughput: float  # successful calls per second, over this operation's own phase
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


@dataclass(frozen=True, slots=True)
class LoadReport:
    target: str
    via: str
    plan: LoadPlan
    elapsed_s: float
    stopped_by: str  # "count", "duration" or "setup failure"
    operations: Sequence[OperationStats]
    overall: OperationStats
    cleanup: Cleanup | None = None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form: plain numbers, times in ms, rounded for reading."""

        def stats(s: OperationStats) -> dict[str, Any]:
            return {
                "operation": s.name,
                "ok": s.ok,
                "failed": s.failed,
                "errors": dict(s.errors),
                "throughputPerS": round(s.throughput, 2),
                "latencyMs": {
                    "p50": round(s.p50_ms, 3),
                    "p90": round(s.p90_ms, 3),
                    "p99": round(s.p99_ms, 3),
                    "mean": round(s.mean_ms, 3),
                    "max": round(s.max_ms, 3),
                },
            }

        return {
            "target": self.target,
            "via": self.via,
            "runId": self.plan.run_id,
            "rate": self.plan.rate,
            "concurrency": self.plan.concurrency,
            "elapsedS": round(self.elapsed_s, 3),
            "stoppedBy": self.stopped_by,
            "overall": stats(self.overall),
            "operations": [stats(s) for s in self.operations],
            "cleanup": None
            if self.cleanup is None
            else {
                "topicsDeleted": self.cleanup.topics,
                "usersDeleted": self.cleanup.users,
                "failures": list(self.cleanup.failures),
            },
        }


def summarize(
    name: str, latencies_s: Sequence[float], errors: Counter[str], elapsed: float
) -> OperationStats:
    latency = LatencySummary.of(latencies_s)
    return OperationStats(
        name=name,
        ok=latency.count,
        errors=dict(sorted(errors.items())),
        throughput=latency.count / max(elapsed, 1e-9) if latency.count else 0.0,
        p50_ms=latency.p50_ms,
        p90_ms=latency.p90_ms,
        p99_ms=latency.p99_ms,
        mean_ms=latency.mean_ms,
        max_ms=latency.max_ms,
    )


def require_loopback(target: str, allow_remote: bool, *, purpose: str = "send load") -> None:
    """Raise LoadgenError unless `target` (host:port or http URL) is on this machine.

    Load (or demo data, `purpose` says which) is only ever aimed at a server of your own;
    `allow_remote` is the explicit override.
    """
    if allow_remote:
        return
    host_port = target
    if "://" in target:
        parts = urlsplit(target)
        host = parts.hostname or ""
        host_port = f"[{host}]:0" if ":" in host else f"{host}:0"
    try:
        loopback = is_loopback(host_port)
    except ConfigError as error:
        raise LoadgenError(f"bad target {target!r}: {error}") from None
    if not loopback:
        raise LoadgenError(
            f"refusing to {purpose} to {target}: not a loopback address "
            "(127.0.0.0/8, ::1, localhost); add --allow-remote if this server is yours"
        )


class _Run:
    """The shared state of one run: the schedule (its deadline and count) and one tally per
    operation, plus the cumulative figures that progress lines show."""

    def __init__(self, plan: LoadPlan, clock: Callable[[], float]) -> None:
        self.plan = plan
        self.schedule = Schedule(
            clock=clock, rate=plan.rate, duration_s=plan.duration, count=plan.count
        )
        self.tallies = {name: Tally() for name in OPERATIONS}
        self.histogram = LatencyHistogram()
        self.failed = 0

    def observe(self, latency: float | None) -> None:
        if latency is None:
            self.failed += 1
        else:
            self.histogram.add(latency)

    def progress(self) -> Progress:
        """The run so far, over the real time since it started."""
        return Progress(
            elapsed_s=self.schedule.clock() - self.schedule.start,
            ok=self.histogram.count,
            failed=self.failed,
            p50_ms=self.histogram.percentile(50) * 1000,
            p99_ms=self.histogram.percentile(99) * 1000,
        )

    def last_finish(self) -> float:
        ends = [t.last_ended for t in self.tallies.values() if t.last_ended is not None]
        return max(ends, default=self.schedule.start)


async def _phase(
    run: _Run, name: str, limit: int | None, call: Callable[[int], Awaitable[None]]
) -> None:
    """Start `call(0)`, `call(1)`, ... on the run's schedule until `limit` or the run's end."""
    workers = run.plan.concurrency if limit is None else min(run.plan.concurrency, limit)
    await drive(run.schedule, [call] * workers, run.tallies[name], limit=limit, observe=run.observe)


def _require_setup(run: _Run, name: str, needed: int) -> None:
    """Messages need every user and topic: stop with the first failure's reason otherwise."""
    failure = run.tallies[name].first_error
    if failure is not None:
        raise LoadgenError(f"{name} failed: {failure.code}: {failure.message}")
    if len(run.tallies[name].latencies) < needed:
        raise LoadgenError(
            f"the run ended before its {run.plan.users} users and {run.plan.topics} topics "
            "were created; give it a longer --duration or a higher --rate"
        )


async def remove_run(client: LoadClient, plan: LoadPlan) -> Cleanup:
    """Delete the topics (their messages go with them), then the users that a run of `plan`
    creates, as far as they exist; call it after the run, however it ended. Failures are
    collected, not raised: cleanup goes as far as it can."""
    failures: list[str] = []

    async def delete(kind: str, item: str, call: Awaitable[None]) -> bool:
        try:
            await call
        except OperationError as error:
            if error.code != "NOT_FOUND":  # never created, or already gone: nothing to do
                failures.append(f"{kind} {item}: {error.code}: {error.message}")
            return False
        return True

    topics = [await delete("topic", t, client.delete_topic(t)) for t in plan.topic_ids()]
    users = [await delete("user", u, client.delete_user(u)) for u in plan.user_ids()]
    return Cleanup(sum(topics), sum(users), failures)


async def _report_progress(run: _Run, show: Callable[[Progress], None], every: float) -> None:
    while True:
        await asyncio.sleep(every)
        show(run.progress())


async def run_load(
    plan: LoadPlan,
    client: LoadClient,
    *,
    target: str = "",
    via: str = "grpc",
    clock: Callable[[], float] = time.perf_counter,
    on_progress: Callable[[Progress], None] | None = None,
    progress_every: float = PROGRESS_EVERY_S,
) -> LoadReport:
    """Run `plan` against `client` and report what was measured.

    `on_progress` is called every `progress_every` seconds with the run so far.

    Raise LoadgenError for a bad plan, or when creating the run's users or topics fails (the
    messages would only repeat that failure). Failed message creates are counted by code in the
    report, not raised.
    """
    plan.validate()
    run = _Run(plan, clock)
    users, topics = plan.user_ids(), plan.topic_ids()

    def create_user(i: int) -> Awaitable[None]:
        return client.create_user(users[i], f"loadgen {plan.run_id} user {i}")

    def create_topic(i: int) -> Awaitable[None]:
        return client.create_topic(topics[i], f"loadgen {plan.run_id} topic {i}", users)

    def message(i: int) -> Awaitable[None]:
        # Every user in turn, then the next topic: each topic hears from every user.
        sender = users[i % len(users)]
        topic = topics[(i // len(users)) % len(topics)]
        text = f"load message {i} from {sender} in run {plan.run_id}"
        return client.create_message(topic, sender, text)

    async def body() -> None:
        await _phase(run, CREATE_USER, len(users), create_user)
        _require_setup(run, CREATE_USER, len(users))
        await _phase(run, CREATE_TOPIC, len(topics), create_topic)
        _require_setup(run, CREATE_TOPIC, len(topics))
        await _phase(run, CREATE_MESSAGE, None, message)

    reporter = (
        asyncio.create_task(_report_progress(run, on_progress, progress_every))
        if on_progress is not None
        else None
    )
    try:
        # The last calls may start just before the deadline; give them one call timeout to end.
        async with asyncio.timeout(plan.duration + plan.call_timeout):
            await body()
    except TimeoutError:
        pass
    finally:
        if reporter is not None:
            reporter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reporter
    # Throughput is over the real time from the first call's start to the last one's end.
    elapsed = max(run.last_finish() - run.schedule.start, 1e-9)
    tallies = run.tallies
    operations = [
        summarize(name, tally.latencies, tally.errors, tally.phase_seconds())
        for name, tally in tallies.items()
        if tally.latencies or tally.errors
    ]
    everything = [latency for tally in tallies.values() for latency in tally.latencies]
    all_errors: Counter[str] = Counter()
    for tally in tallies.values():
        all_errors.update(tally.errors)
    count_reached = run.schedule.count_reached
    return LoadReport(
        target=target,
        via=via,
        plan=plan,
        elapsed_s=elapsed,
        stopped_by="count" if count_reached else "duration",
        operations=operations,
        overall=summarize("all", everything, all_errors, elapsed),
    )


def format_report(report: LoadReport) -> str:
    """The report as a readable table."""
    headers = ("OPERATION", "OK", "FAILED", "OPS/S", "P50 MS", "P90 MS", "P99 MS", "MAX MS")
    rows = [
        [
            s.name,
            str(s.ok),
            str(s.failed),
            f"{s.throughput:.1f}",
            f"{s.p50_ms:.2f}",
            f"{s.p90_ms:.2f}",
            f"{s.p99_ms:.2f}",
            f"{s.max_ms:.2f}",
        ]
        for s in (*report.operations, report.overall)
    ]
    lines = [
        f"loadgen run {report.plan.run_id} via {report.via} against {report.target}: "
        f"{report.elapsed_s:.2f}s, stopped by {report.stopped_by}",
        format_table(headers, rows),
    ]
    errors = report.overall.errors
    if errors:
        lines.append("errors: " + ", ".join(f"{code} x{n}" for code, n in errors.items()))
    if report.cleanup is not None:
        lines.append(report.cleanup.line())
    return "\n".join(lines)
