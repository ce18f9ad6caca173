"""`python -m benchmarks --quick` as `make bench` runs it: real servers, real load, a table.

No timing is asserted (the machine is shared); only that every scenario ran, succeeded and
produced positive numbers, and that the ratios benchmarks/README.md describes are printed.
"""

from __future__ import annotations

import re

import pytest

from tests.benchmarks.bench_process import run_benchmarks

QUICK = ["--quick", "--duration", "0.3", "--warmup", "0.2", "--concurrency", "4"]


def _bench(*args: str) -> str:
    return run_benchmarks(*QUICK, *args, timeout_s=90)


def _numbers(line: str, skip: int) -> list[float]:
    cells = line.split()
    return [float(cell.rstrip("%")) for cell in cells[skip:]]


def test_sqlite_table_has_every_scenario_with_positive_numbers() -> None:
    output = _bench("--only", "sqlite")

    assert re.search(r"^machine: \d+ CPU cores", output, re.MULTILINE)
    rows = [line for line in output.splitlines() if line.startswith("sqlite ")]
    scenarios = {tuple(line.split()[1:4]) for line in rows}
    assert scenarios == {
        ("GET", "topic", "REST"),
        ("GET", "topic", "gRPC"),
        ("POST", "message", "REST"),
        ("POST", "message", "gRPC"),
    }
    for line in rows:
        rate, p50, p99, server_cpu, client_cpu, failed = _numbers(line, skip=4)
        assert min(rate, p50, server_cpu) > 0, line
        assert client_cpu >= 0, line
        assert p99 >= p50, line
        assert failed == 0, line
    ratios = re.findall(r"REST/gRPC sqlite +(GET topic|POST message) +throughput ([0-9.]+)", output)
    assert {name for name, _ in ratios} == {"GET topic", "POST message"}
    assert all(float(value) > 0 for _, value in ratios)
    assert "postgres" not in output
    assert "Telemetry cost" not in output


@pytest.mark.slow
def test_telemetry_run_exports_spans_to_the_collector_process() -> None:
    output = _bench("--only", "telemetry")

    untraced = next(line for line in output.splitlines() if line.startswith("untraced"))
    traced = next(line for line in output.splitlines() if line.startswith("traced,"))
    for line, label_words in ((untraced, 2), (traced, 4)):
        rate, p50, p99, server_cpu, _collector_cpu, failed = _numbers(line, skip=label_words)
        assert min(rate, p50, server_cpu) > 0, line
        assert p99 >= p50, line
        assert failed == 0, line
    assert re.search(r"traced/untraced throughput [0-9.]+ \(goal >= 0.8", output)
    assert re.search(r"traced/untraced p99 +[0-9.]+ \(goal <= 1.3", output)
    received = re.search(
        r"spans received by the collector: (\d+) for (\d+) traced requests", output
    )
    assert received is not None, output
    spans, requests = int(received[1]), int(received[2])
    # Every traced request is one trace of several spans (gateway, gRPC client and server,
    # service, datastore, SQL), all of which must reach the other process.
    assert requests > 0, output
    assert spans >= 5 * requests, output


@pytest.mark.slow
def test_dispatch_row_has_the_bare_chain_and_both_dispatches() -> None:
    output = _bench("--only", "dispatch")

    labels = {
        "bare chain": 2,
        "network untraced": 2,
        "network traced": 2,
        "in-process untraced": 2,
        "in-process traced": 2,
    }
    lines = output.splitlines()
    for label, words in labels.items():
        line = next(line for line in lines if line.startswith(label + " "))
        rate, p50, p99, server_cpu, failed = _numbers(line, skip=words)
        assert min(rate, p50, server_cpu) > 0, line
        assert p99 >= p50, line
        assert failed == 0, line
    assert re.search(
        r"^network: untraced/bare [0-9.]+ \(goal >= 0.6: (met|NOT met)\), "
        r"traced/untraced [0-9.]+ \(goal >= 0.8",
        output,
        re.MULTILINE,
    )
    assert re.search(r"^in-process: untraced/bare [0-9.]+, traced/untraced", output, re.MULTILINE)
