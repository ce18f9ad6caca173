"""The load engine that `onehub loadgen` and the benchmarks share, on a clock the calls move."""

from __future__ import annotations

import asyncio

import pytest

from onehub.cli.load_engine import Call, OperationError, Schedule, Tally, drive


class StepClock:
    """A clock that only moves when a call says so, so every booking is exact."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stepping_call(clock: StepClock, seen: list[int], *, fail_odd: bool = False) -> Call:
    async def call(index: int) -> None:
        seen.append(index)
        await asyncio.sleep(0)
        clock.now += 1.0
        if fail_odd and index % 2:
            raise OperationError("UNAVAILABLE", f"call {index} refused")

    return call


async def test_closed_loop_books_warmup_window_and_nothing_after_the_deadline() -> None:
    clock = StepClock()
    schedule = Schedule(clock=clock, rate=0.0, duration_s=10.0)
    tally = Tally(opens_at=3.0, closes_at=schedule.deadline)
    seen: list[int] = []

    await drive(schedule, [stepping_call(clock, seen)], tally)

    # Calls start at 0..9 and end one step later; the one ending at the deadline is dropped.
    assert seen == list(range(10))
    assert tally.warmup_ok == 2
    assert tally.latencies == [1.0] * 7
    assert tally.window_s == 7.0
    assert tally.failures == 0


async def test_failures_are_counted_by_code_and_the_first_is_kept() -> None:
    clock = StepClock()
    schedule = Schedule(clock=clock, rate=0.0, duration_s=100.0, count=6)
    tally = Tally()
    seen: list[int] = []
    outcomes: list[float | None] = []

    await drive(
        schedule, [stepping_call(clock, seen, fail_odd=True)], tally, observe=outcomes.append
    )

    assert seen == list(range(6))
    assert dict(tally.errors) == {"UNAVAILABLE": 3}
    assert tally.first_error is not None
    assert str(tally.first_error) == "UNAVAILABLE: call 1 refused"
    assert outcomes == [1.0, None, 1.0, None, 1.0, None]
    assert schedule.count_reached
    assert tally.phase_seconds() == 6.0


async def test_phases_share_one_schedule_and_each_index_runs_once() -> None:
    clock = StepClock()
    schedule = Schedule(clock=clock, rate=0.0, duration_s=100.0, count=7)
    first, second = Tally(), Tally()
    seen_first: list[int] = []
    seen_second: list[int] = []

    callers = [stepping_call(clock, seen_first) for _ in range(3)]
    await drive(schedule, callers, first, limit=4)
    await drive(schedule, [stepping_call(clock, seen_second)] * 3, second)

    assert sorted(seen_first) == [0, 1, 2, 3]
    # The count is over the whole schedule: three operations were left for the second phase.
    assert sorted(seen_second) == [0, 1, 2]
    assert (len(first.latencies), len(second.latencies)) == (4, 3)


async def test_paced_calls_start_no_earlier_than_their_turn() -> None:
    loop = asyncio.get_running_loop()
    schedule = Schedule(clock=loop.time, rate=50.0, duration_s=10.0, count=5)
    started: list[float] = []

    async def call(index: int) -> None:
        started.append(loop.time() - schedule.start)

    await drive(schedule, [call] * 5, Tally())

    assert len(started) == 5
    assert all(at >= k / 50.0 for k, at in enumerate(sorted(started)))


async def test_an_error_that_is_not_an_operation_error_ends_the_run() -> None:
    schedule = Schedule(clock=StepClock(), rate=0.0, duration_s=10.0)

    async def broken(index: int) -> None:
        raise RuntimeError("bug in the client")

    with pytest.raises(RuntimeError, match="bug in the client"):
        await drive(schedule, [broken], Tally())


async def test_a_cancelled_run_stops_even_when_the_call_reports_the_cancellation_as_a_status() -> (
    None
):
    # grpc.aio may surface the cancellation of the awaiting task as a CANCELLED status.
    async def call(index: int) -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise OperationError("CANCELLED", "Locally cancelled by application!") from None

    schedule = Schedule(clock=asyncio.get_running_loop().time, rate=0.0, duration_s=3600.0)
    tally = Tally()
    run = asyncio.create_task(drive(schedule, [call, call], tally))
    await asyncio.sleep(0.01)
    run.cancel()

    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(run, timeout=5)
    assert tally.failures == 0
