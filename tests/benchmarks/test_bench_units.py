"""The arithmetic the benchmark tables rest on: percentiles, the profile summary, the table."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.clients import Target, Transport
from benchmarks.load import LoadJob, WorkerSample, merge, run_job
from benchmarks.profile import area_of, parse_raw, short
from benchmarks.stats import ratio, render_table
from onehub.cli.latency import percentile
from onehub.cli.loadgen import summarize
from tests.ports import free_port


@pytest.mark.parametrize(
    ("q", "expected"), [(50, 50.0), (99, 99.0), (100, 100.0), (1, 1.0), (0.1, 1.0)]
)
def test_nearest_rank_percentile_of_one_to_a_hundred(q: float, expected: float) -> None:
    assert percentile([float(value) for value in range(1, 101)], q) == expected


def test_percentile_of_nothing_is_zero_and_ratio_of_nothing_is_zero() -> None:
    assert percentile([], 99) == 0.0
    assert ratio(3.0, 0.0) == 0.0


def test_merge_adds_each_workers_rate_and_pools_latencies() -> None:
    def sample(latencies: list[float], window_s: float) -> WorkerSample:
        return WorkerSample(len(latencies), 5, 1, "HTTP 500", latencies, window_s, 0.5)

    merged = merge([sample([0.001] * 99, 1.0), sample([0.1], 0.5)])

    assert merged.throughput == pytest.approx(99 + 2)
    assert merged.p50_ms == pytest.approx(1.0)
    assert merged.p99_ms == pytest.approx(1.0)
    assert merged.completed == 100
    assert merged.total_calls == 110
    assert (merged.failures, merged.first_failure) == (2, "HTTP 500")


def test_profile_summary_charges_self_time_to_the_innermost_frame() -> None:
    raw = "\n".join(
        [
            "main (/w/src/onehub/cli/main.py);serve (/w/src/onehub/transport/gateway/app.py) 3",
            "main (/w/src/onehub/cli/main.py);execute (/v/site-packages/sqlalchemy/base.py) 1",
            "not a sample line",
        ]
    )
    profile = parse_raw(raw)

    assert profile.samples == 4
    assert profile.by_area == {"onehub gateway": 3, "SQLAlchemy": 1}
    assert profile.self_time["serve (/w/src/onehub/transport/gateway/app.py)"] == 3
    assert profile.inclusive["main (/w/src/onehub/cli/main.py)"] == 4


def test_areas_prefer_the_more_specific_fragment() -> None:
    packages = "/venv/lib/python3.11/site-packages"
    assert area_of("f (/w/src/onehub/telemetry/rpc.py)") == "onehub telemetry"
    exporter = f"f ({packages}/opentelemetry/exporter/otlp/x.py)"
    assert area_of(exporter) == "OTel exporters (encoding, export)"
    assert area_of(f"f ({packages}/opentelemetry/sdk/trace/__init__.py)") == "OTel SDK traces, logs"
    assert area_of("f (<frozen abc>)") == "other (stdlib, native)"


def test_frames_are_shown_without_install_prefixes() -> None:
    assert short("f (/venv/lib/python3.11/site-packages/grpc/aio/_call.py)") == (
        "f (grpc/aio/_call.py)"
    )
    assert short("g (/work/main/src/onehub/app/serve.py)") == "g (onehub/app/serve.py)"
    assert short("h (/usr/lib/python3.11/asyncio/events.py)") == "h (asyncio/events.py)"


def test_table_pads_text_left_and_numbers_right() -> None:
    table = render_table(["name", "req/s"], [["a", "1"], ["long name", "1000"]])

    assert table.splitlines() == [
        "name       req/s",
        "---------  -----",
        "a              1",
        "long name   1000",
    ]


def test_the_benchmarks_and_loadgen_report_the_same_numbers_for_the_same_calls() -> None:
    latencies = [0.001 * (index % 37 + 1) for index in range(1000)]
    merged = merge([WorkerSample(len(latencies), 0, 0, None, latencies, 1.0, 0.0)])
    report = summarize("create_message", latencies, Counter(), 1.0)
    assert (merged.p50_ms, merged.p99_ms) == (report.p50_ms, report.p99_ms)
    assert merged.p50_ms == pytest.approx(19.0)
    assert merged.p99_ms == pytest.approx(37.0)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
async def test_a_load_job_against_a_closed_port_counts_failures_not_calls(
    transport: Transport,
) -> None:
    address = f"127.0.0.1:{free_port()}"  # nothing listens there
    target = Target(gateway=address, grpc=address, topic_id="t")
    job = LoadJob(transport, "get_topic", target, concurrency=2, warmup_s=0.05, duration_s=0.2)

    sample = await run_job(job)

    assert (sample.completed, sample.warmup_completed, sample.latencies) == (0, 0, [])
    assert sample.failures > 0
    assert sample.first_failure is not None
    assert sample.first_failure.startswith("UNAVAILABLE")
    assert sample.window_s == pytest.approx(0.2)
