"""The load generator's scheduling, bounds and report, over an in-test transport."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Sequence

import pytest

from onehub.cli.latency import percentile
from onehub.cli.loadgen import (
    CREATE_MESSAGE,
    CREATE_TOPIC,
    CREATE_USER,
    LoadgenError,
    LoadPlan,
    OperationError,
    format_report,
    remove_run,
    require_loopback,
    run_load,
)
from onehub.cli.loadgen_progress import LatencyHistogram, Progress


class RecordingClient:
    """Remembers every call; optionally fails or stalls some of them."""

    def __init__(
        self,
        *,
        fail_users_with: str | None = None,
        fail_topics_with: str | None = None,
        fail_every_nth_message: int = 0,
        message_delay: float = 0.0,
    ) -> None:
        self.users: list[str] = []
        self.topics: list[tuple[str, tuple[str, ...]]] = []
        self.messages: list[tuple[str, str]] = []
        self.fail_users_with = fail_users_with
        self.fail_topics_with = fail_topics_with
        self.deleted: list[str] = []
        self.undeletable: set[str] = set()
        self.fail_every_nth_message = fail_every_nth_message
        self.message_delay = message_delay
        self.in_flight = 0
        self.most_in_flight = 0

    async def create_user(self, user_id: str, name: str) -> None:
        if self.fail_users_with:
            raise OperationError(self.fail_users_with, "invalid username or password")
        self.users.append(user_id)

    async def create_topic(self, topic_id: str, name: str, members: Sequence[str]) -> None:
        assert set(members) <= set(self.users), "topics must come after their members"
        if self.fail_topics_with:
            raise OperationError(self.fail_topics_with, "no topics for you")
        self.topics.append((topic_id, tuple(members)))

    async def create_message(self, topic_id: str, creator_id: str, text: str) -> None:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.message_delay)
            self.messages.append((topic_id, creator_id))
            if (
                self.fail_every_nth_message
                and len(self.messages) % self.fail_every_nth_message == 0
            ):
                raise OperationError("NOT_FOUND", "topic gone")
        finally:
            self.in_flight -= 1

    async def delete_topic(self, topic_id: str) -> None:
        if topic_id not in {topic for topic, _ in self.topics}:
            raise OperationError("NOT_FOUND", "no such topic")
        self.deleted.append(topic_id)

    async def delete_user(self, user_id: str) -> None:
        if user_id not in self.users:
            raise OperationError("NOT_FOUND", "no such user")
        if user_id in self.undeletable:
            raise OperationError("PERMISSION_DENIED", "not yours")
        self.deleted.append(user_id)


async def test_a_count_run_creates_users_then_topics_then_messages_and_stops_at_count() -> None:
    client = RecordingClient()
    plan = LoadPlan(rate=0, count=20, users=2, topics=3, concurrency=4, run_id="abc")

    report = await run_load(plan, client, target="127.0.0.1:1")

    users = ("loadgen-abc-user-0", "loadgen-abc-user-1")
    assert client.users == list(users)
    assert [topic for topic, _ in client.topics] == [
        "loadgen-abc-topic-0",
        "loadgen-abc-topic-1",
        "loadgen-abc-topic-2",
    ]
    assert all(members == users for _, members in client.topics)
    assert len(client.messages) == 15
    assert {creator for _, creator in client.messages} == set(users)
    assert report.stopped_by == "count"
    by_name = {stats.name: stats for stats in report.operations}
    assert [by_name[n].ok for n in (CREATE_USER, CREATE_TOPIC, CREATE_MESSAGE)] == [2, 3, 15]
    assert report.overall.ok == 20
    assert report.overall.throughput > 0
    for stats in (*report.operations, report.overall):
        assert 0 <= stats.p50_ms <= stats.p90_ms <= stats.p99_ms <= stats.max_ms


async def test_a_duration_run_stops_by_itself_near_its_deadline() -> None:
    client = RecordingClient()
    plan = LoadPlan(rate=100, duration=0.3, concurrency=2, users=1, topics=1)

    began = time.perf_counter()
    report = await run_load(plan, client)
    took = time.perf_counter() - began

    assert report.stopped_by == "duration"
    assert 0.25 <= took < 1.5
    # 100/s for 0.3 s is 30 operations; the schedule never runs ahead of the rate.
    assert 20 <= report.overall.ok <= 30


async def test_the_rate_paces_the_run() -> None:
    plan = LoadPlan(rate=50, count=11, users=1, topics=1, concurrency=8)

    began = time.perf_counter()
    report = await run_load(plan, RecordingClient())

    # Operation k starts at k/50 s: the 11th at 0.2 s.
    assert time.perf_counter() - began >= 0.19
    assert report.overall.ok == 11


async def test_concurrency_caps_the_calls_in_flight() -> None:
    client = RecordingClient(message_delay=0.02)
    await run_load(LoadPlan(rate=0, count=30, users=1, topics=1, concurrency=3), client)

    assert client.most_in_flight == 3


async def test_calls_still_running_at_the_deadline_are_cancelled() -> None:
    client = RecordingClient(message_delay=60)
    plan = LoadPlan(rate=0, duration=0.2, call_timeout=0.2, users=1, topics=1, concurrency=2)

    began = time.perf_counter()
    report = await run_load(plan, client)

    assert time.perf_counter() - began < 2
    assert report.stopped_by == "duration"
    assert client.in_flight == 0


async def test_failed_messages_are_counted_by_code_not_raised() -> None:
    client = RecordingClient(fail_every_nth_message=4)
    report = await run_load(LoadPlan(rate=0, count=22, users=1, topics=1), client)

    messages = next(s for s in report.operations if s.name == CREATE_MESSAGE)
    assert messages.errors == {"NOT_FOUND": 5}
    assert messages.ok == 15
    assert report.overall.errors == {"NOT_FOUND": 5}
    assert "NOT_FOUND x5" in format_report(report)


async def test_a_setup_failure_stops_the_run_with_its_reason() -> None:
    client = RecordingClient(fail_users_with="UNAUTHENTICATED")

    with pytest.raises(LoadgenError, match="create_user failed: UNAUTHENTICATED"):
        await run_load(LoadPlan(rate=0, count=10), client)
    assert client.messages == []


async def test_cleanup_deletes_the_topics_then_the_users_the_run_created() -> None:
    client = RecordingClient()
    plan = LoadPlan(rate=0, count=12, users=2, topics=2, run_id="abc")
    report = await run_load(plan, client)

    cleanup = await remove_run(client, plan)

    assert client.deleted == [
        "loadgen-abc-topic-0",
        "loadgen-abc-topic-1",
        "loadgen-abc-user-0",
        "loadgen-abc-user-1",
    ]
    assert (cleanup.topics, cleanup.users, cleanup.failures) == (2, 2, [])
    cleaned = dataclasses.replace(report, cleanup=cleanup)
    assert "cleanup: deleted 2 topics (with their messages) and 2 users" in format_report(cleaned)
    assert cleaned.as_dict()["cleanup"] == {"topicsDeleted": 2, "usersDeleted": 2, "failures": []}
    assert "cleanup" not in format_report(report)


async def test_cleanup_after_a_failed_setup_removes_what_exists_and_reports_refusals() -> None:
    client = RecordingClient(fail_topics_with="PERMISSION_DENIED")
    client.undeletable.add("loadgen-abc-user-1")
    plan = LoadPlan(rate=0, count=10, users=3, run_id="abc")
    with pytest.raises(LoadgenError, match="create_topic failed: PERMISSION_DENIED"):
        await run_load(plan, client)

    cleanup = await remove_run(client, plan)

    assert client.deleted == ["loadgen-abc-user-0", "loadgen-abc-user-2"]
    assert (cleanup.topics, cleanup.users) == (0, 2)
    assert cleanup.failures == ["user loadgen-abc-user-1: PERMISSION_DENIED: not yours"]
    assert cleanup.line().endswith(
        "could not delete 1, first user loadgen-abc-user-1: PERMISSION_DENIED: not yours"
    )


async def test_progress_is_reported_while_the_run_goes_on() -> None:
    seen: list[Progress] = []
    client = RecordingClient(message_delay=0.005)
    plan = LoadPlan(rate=200, duration=0.45, users=1, topics=1)

    report = await run_load(plan, client, on_progress=seen.append, progress_every=0.1)

    assert len(seen) >= 3
    assert [p.ok for p in seen] == sorted(p.ok for p in seen)
    assert all(0 < p.ok <= report.overall.ok and p.failed == 0 for p in seen)
    last = seen[-1]
    assert last.rate == pytest.approx(last.ok / last.elapsed_s)
    assert 0 < last.p50_ms <= last.p99_ms
    assert "ops/s" in last.line()


def test_the_histogram_percentiles_are_within_two_percent_of_the_exact_ones() -> None:
    values = [0.0005 * 1.01**i for i in range(700)]
    histogram = LatencyHistogram()
    for value in values:
        histogram.add(value)

    assert histogram.count == 700
    for pct in (50, 90, 99, 100):
        exact = percentile(values, pct)
        assert exact <= histogram.percentile(pct) <= exact * 1.02 * 1.0001
    assert LatencyHistogram().percentile(50) == 0.0


async def test_a_deadline_before_setup_completes_is_a_clear_error() -> None:
    plan = LoadPlan(rate=10, duration=0.15, users=5, topics=5)

    with pytest.raises(LoadgenError, match="longer --duration or a higher --rate"):
        await run_load(plan, RecordingClient())


@pytest.mark.parametrize(
    ("plan", "complaint"),
    [
        (LoadPlan(rate=-1), "--rate"),
        (LoadPlan(duration=0), "--duration"),
        (LoadPlan(duration=7200), "--duration"),
        (LoadPlan(concurrency=0), "--concurrency"),
        (LoadPlan(users=0), "--users"),
        (LoadPlan(count=5, users=3, topics=2), "--count must exceed"),
        (LoadPlan(run_id="a-b"), "run id"),
    ],
)
def test_bad_plans_are_refused_naming_the_setting(plan: LoadPlan, complaint: str) -> None:
    with pytest.raises(LoadgenError, match=complaint):
        plan.validate()


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert [percentile(values, p) for p in (50, 90, 99, 100)] == [50.0, 90.0, 99.0, 100.0]
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0


@pytest.mark.parametrize(
    "target",
    [
        "127.0.0.1:9000",
        "127.8.9.10:9000",
        "localhost:9000",
        "[::1]:9000",
        "http://127.0.0.1:9080",
        "http://localhost:9080/api",
        "http://[::1]:9080",
    ],
)
def test_loopback_targets_are_allowed(target: str) -> None:
    require_loopback(target, allow_remote=False)


@pytest.mark.parametrize(
    "target",
    [
        "10.0.0.5:9000",
        "192.168.1.20:9000",
        "example.com:9000",
        ":9000",
        "http://8.8.8.8:9080",
        "https://onehub.example.com",
    ],
)
def test_other_targets_are_refused_unless_allowed(target: str) -> None:
    with pytest.raises(LoadgenError, match=r"refusing to send load|bad target"):
        require_loopback(target, allow_remote=False)
    require_loopback(target, allow_remote=True)
