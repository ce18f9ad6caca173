"""The one load engine behind `onehub loadgen` and the benchmarks (`benchmarks/load.py`).

Callers take operations from a shared `Schedule`, make each call, time it and book the outcome
in a `Tally`:

- paced (`rate` > 0): operation k may start at start + k / rate, so the offered rate does not
  sag when the server slows down; at most one call per caller is in flight;
- closed loop (`rate` 0): every caller sends again as soon as its answer is in.

Nothing starts at or after the schedule's deadline or past its `count`; calls already running
are left to finish (the caller of `drive` bounds them with a timeout if it must). A `Tally`
may have a measured window: calls that end before it opens are warm-up (counted, not timed),
successes that end after it closes are not booked; failures are booked whenever they happen.

A call is any `Call`: it is given the operation's index (0, 1, ... within one `drive`) and
raises `OperationError` when the server refuses it; anything else it raises ends the run.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

Clock = Callable[[], float]
Call = Callable[[int], Awaitable[None]]


class OperationError(Exception):
    """One call failed; `code` is a gRPC status name ("NOT_FOUND") or "HTTP_<status>"."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Schedule:
    """When the next operation may start, shared by every caller of a run (and its phases)."""

    def __init__(
        self, *, clock: Clock, rate: float, duration_s: float, count: int | None = None
    ) -> None:
        self.clock = clock
        self.rate = rate
        self.count = count
        self.start = clock()
        self.deadline = self.start + duration_s
        self.issued = 0

    def claim(self) -> float | None:
        """Claim the next operation; return when it should start, or None if the run is over."""
        if self.count is not None and self.issued >= self.count:
            return None
        due = self.start + (self.issued / self.rate if self.rate else 0.0)
        if due >= self.deadline or self.clock() >= self.deadline:
            return None
        self.issued += 1
        return due

    @property
    def count_reached(self) -> bool:
        return self.count is not None and self.issued >= self.count


@dataclass(slots=True)
class Tally:
    """The outcomes of one kind of operation, in seconds of the schedule's clock."""

    opens_at: float = -math.inf  # calls ending earlier are warm-up
    closes_at: float = math.inf  # successes ending later are not booked
    latencies: list[float] = field(default_factory=list)
    warmup_ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    first_error: OperationError | None = None
    # When the first call began and the last one ended, so that throughput can be taken over
    # this operation's own phase rather than a whole run.
    first_began: float | None = None
    last_ended: float | None = None

    @property
    def failures(self) -> int:
        return sum(self.errors.values())

    @property
    def window_s(self) -> float:
        """The measured window's length; 0.0 unless it is bounded on both sides."""
        span = self.closes_at - self.opens_at
        return span if math.isfinite(span) else 0.0

    def phase_seconds(self) -> float:
        if self.first_began is None or self.last_ended is None:
            return 0.0
        return self.last_ended - self.first_began

    def began(self, at: float) -> None:
        if self.first_began is None:
            self.first_began = at

    def succeeded(self, began: float, ended: float) -> bool:
        """Book a success; True if its latency was booked (it ended in the window)."""
        self._ended(ended)
        if ended < self.opens_at:
            self.warmup_ok += 1
            return False
        if ended >= self.closes_at:
            return False
        self.latencies.append(ended - began)
        return True

    def failed(self, error: OperationError, ended: float) -> None:
        self._ended(ended)
        self.errors[error.code] += 1
        if self.first_error is None:
            self.first_error = error

    def _ended(self, at: float) -> None:
        if self.last_ended is None or at > self.last_ended:
            self.last_ended = at


#: Told of every booked outcome: the latency in seconds, or None for a failure.
Observer = Callable[[float | None], None]


async def drive(
    schedule: Schedule,
    callers: Sequence[Call],
    tally: Tally,
    *,
    limit: int | None = None,
    pause_after_failure_s: float = 0.0,
    observe: Observer | None = None,
) -> None:
    """Run `callers` side by side, each taking operations from `schedule` until it is over or
    `limit` operations were started here, and book every outcome in `tally`.

    `pause_after_failure_s` keeps a caller whose calls fail at once from spinning (closed loop).
    """
    clock = schedule.clock
    next_index = 0

    async def caller(call: Call) -> None:
        nonlocal next_index
        while limit is None or next_index < limit:
            due = schedule.claim()
            if due is None:
                return
            index = next_index
            next_index += 1
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            began = clock()
            tally.began(began)
            try:
                await call(index)
            except OperationError as error:
                if _cancelling():
                    # grpc.aio can report the cancellation of the task awaiting a call as that
                    # call's CANCELLED status: the run was stopped (Ctrl-C), the call was not
                    # refused, so stop rather than book it and go on to the deadline.
                    raise asyncio.CancelledError from error
                tally.failed(error, clock())
                if observe is not None:
                    observe(None)
                if pause_after_failure_s:
                    await asyncio.sleep(pause_after_failure_s)
                continue
            ended = clock()
            if tally.succeeded(began, ended) and observe is not None:
                observe(ended - began)

    active = callers if limit is None else callers[:limit]
    await asyncio.gather(*(caller(call) for call in active))


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
