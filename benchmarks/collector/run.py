"""Run the collector's benchmarks and print a table of medians.

1. Ingest: sender processes push spans over OTLP/gRPC, then over OTLP/HTTP, to a collector
   process, in several runs each; a run's rate is what the store committed (polled from
   /jaeger/api/x/status), not what was acknowledged; the table shows the median run. Two
   collectors take turns: the built-in configuration (a request is answered once the store has
   committed it) and the same with `durable_ack: false` (answered on admission, the previous
   behaviour), so the ratio between them is measured under the same load.
2. Queries on the full store (the spans of both runs): trace search (limit 20, by service,
   service and operation, a tag, a minimum duration) and trace fetch by id, as latency
   percentiles through the HTTP query API; then a tag no span has (the worst case, reported
   apart from the others with how many answers the search budget cut short).
3. Memory: the collector's resident set with everything stored, and its peak.
"""

from __future__ import annotations

import argparse
import importlib.resources
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from benchmarks.collector.workload import OPERATIONS, SERVICES, SPANS_PER_REQUEST
from benchmarks.stats import render_table
from onehub.cli.latency import percentile

READY = "onehub collector ready:"
DURABLE = "durable ack"
ON_ADMISSION = "ack on admission"


class BenchError(Exception):
    """A benchmark could not run; str() says why."""


@dataclass
class Results:
    ingest: dict[str, list[float]] = field(default_factory=dict)
    search_ms: dict[str, list[float]] = field(default_factory=dict)
    fetch_ms: list[float] = field(default_factory=list)
    rare_ms: list[float] = field(default_factory=list)
    rare_partial: int = 0
    findings_ms: list[float] = field(default_factory=list)
    monitor_ms: dict[str, list[float]] = field(default_factory=dict)
    rss_mb: float = 0.0
    peak_rss_mb: float = 0.0
    stored_spans: int = 0


def on_admission_config(directory: Path) -> Path:
    """The built-in configuration with the store's `durable_ack: false`, written to a file."""
    built_in = importlib.resources.files("onehub_collector") / "default_config.yaml"
    document = yaml.safe_load(built_in.read_text())
    document["exporters"]["onehub_store"]["durable_ack"] = False
    path = directory / "on-admission.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


class CollectorProcess:
    def __init__(self, data_dir: Path, config: Path | None = None) -> None:
        # The built-in configuration (or `config`), on ports the OS picks.
        extra = [] if config is None else ["--config", str(config)]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "onehub_collector",
                "--otlp-grpc-addr",
                "127.0.0.1:0",
                "--otlp-http-addr",
                "127.0.0.1:0",
                "--ui-addr",
                "127.0.0.1:0",
                "--data-dir",
                str(data_dir),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith(READY):
            self.process.kill()
            raise BenchError(f"collector did not start: {line!r}")
        self.addresses = dict(part.split("=", 1) for part in line.removeprefix(READY).split())
        self.api = httpx.Client(base_url=self.addresses["ui"] + "/api", timeout=60)

    def stored(self) -> int:
        return int(self.api.get("/x/status").json()["data"]["store"]["spans_stored"])

    def memory_mb(self, field_name: str) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.api.close()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


def ingest(
    collector: CollectorProcess, protocol: str, spans: int, runs: int, inflight: int
) -> list[float]:
    """Spans per second committed to the store, one rate per run: from the moment the sender
    starts sending until the store holds every span of the run."""
    target = collector.addresses["otlp_grpc" if protocol == "grpc" else "otlp_http"]
    rates = []
    for _ in range(runs):
        sender = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.collector.sender",
                protocol,
                target,
                str(spans),
                str(inflight),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sender.stdin is not None
        assert sender.stdout is not None
        if sender.stdout.readline().strip() != "ready":
            raise BenchError(f"{protocol} sender did not start")
        expected = (spans // SPANS_PER_REQUEST) * SPANS_PER_REQUEST
        goal = collector.stored() + expected
        started = time.perf_counter()
        sender.stdin.write("go\n")
        sender.stdin.flush()
        deadline = time.monotonic() + max(120.0, spans / 2000)
        while (stored := collector.stored()) < goal:
            if time.monotonic() > deadline:
                sender.kill()
                raise BenchError(f"{protocol}: {goal - stored} of {expected} spans never stored")
            time.sleep(0.02)
        rates.append(expected / (time.perf_counter() - started))
        sender.wait(60)
    return rates


def query(collector: CollectorProcess, rounds: int, results: Results) -> None:
    rng = random.Random(3)
    now_us = time.time_ns() // 1000
    window = {"start": now_us - 2 * 3600 * 1_000_000, "end": now_us, "limit": 20}
    shapes: dict[str, Callable[[], dict[str, str]]] = {
        "service": lambda: {"service": rng.choice(SERVICES)},
        "service+operation": lambda: {
            "service": rng.choice(SERVICES),
            "operation": rng.choice(OPERATIONS),
        },
        "service+tag": lambda: {
            "service": rng.choice(SERVICES),
            "tags": json.dumps({f"attr.{rng.randrange(8)}": f"v{rng.randrange(100)}"}),
        },
        "service+minDuration": lambda: {"service": rng.choice(SERVICES), "minDuration": "500ms"},
    }
    trace_ids: list[str] = []
    collector.api.get("/traces", params={**window, "service": SERVICES[0]})  # warm the caches
    for _ in range(rounds):
        for name, shape in shapes.items():
            started = time.perf_counter()
            response = collector.api.get("/traces", params={**window, **shape()})
            elapsed_ms = (time.perf_counter() - started) * 1000
            results.search_ms.setdefault(name, []).append(elapsed_ms)
            if response.status_code != 200:
                raise BenchError(f"search failed: {response.status_code} {response.text[:200]}")
            trace_ids.extend(trace["traceID"] for trace in response.json()["data"])
    if not trace_ids:
        raise BenchError("searches found no traces")
    # The worst case of a tag search: a value no span has, so the whole window is scanned
    # (or the store's search budget stops it, with a warning in `errors`).
    for _ in range(max(2, rounds // 5)):
        rare = {"service": rng.choice(SERVICES), "tags": json.dumps({"attr.1": "no-such"})}
        started = time.perf_counter()
        response = collector.api.get("/traces", params={**window, **rare})
        results.rare_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200 or response.json()["data"]:
            raise BenchError(f"rare-tag search: {response.status_code} {response.text[:200]}")
        results.rare_partial += bool(response.json()["errors"])
    for _ in range(rounds * 4):
        trace_id = rng.choice(trace_ids)
        started = time.perf_counter()
        response = collector.api.get(f"/traces/{trace_id}")
        results.fetch_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"trace fetch failed: {response.status_code}")
        # The same trace again through the findings analysis: the ratio to the fetch is its cost.
        started = time.perf_counter()
        response = collector.api.get(f"/x/traces/{trace_id}/findings")
        results.findings_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise BenchError(f"findings failed: {response.status_code}")
    # The Monitor tab's buckets over the last hour, for every service and for one.
    for _ in range(max(2, rounds // 5)):
        for name, extra in (("all services", {}), ("one service", {"service": SERVICES[0]})):
            started = time.perf_counter()
            response = collector.api.get("/x/monitor", params={"lookback": 3_600_000, **extra})
            results.monitor_ms.setdefault(name, []).append((time.perf_counter() - started) * 1000)
            if response.status_code != 200 or not response.json()["data"]["series"]:
                raise BenchError(f"monitor failed: {response.status_code} {response.text[:200]}")


def _latency_row(label: str, values: Sequence[float], goal: str) -> list[str]:
    ordered = sorted(values)
    return [label, f"{statistics.median(ordered):.2f}", f"p95 {percentile(ordered, 95):.2f}", goal]


def report(results: Results, quick: bool, inflight: int) -> str:
    rows = []
    for protocol in ("gRPC", "HTTP"):
        durable = results.ingest.get(f"{protocol} {DURABLE}", [])
        admission = results.ingest.get(f"{protocol} {ON_ADMISSION}", [])
        if not durable:
            continue
        rows.append(
            [
                f"ingest OTLP/{protocol} (spans/s)",
                f"{statistics.median(durable):,.0f}",
                f"worst {min(durable):,.0f}",
                ">= 50,000",
            ]
        )
        if admission:
            rows.append(
                [
                    f"  {ON_ADMISSION} (previous mode)",
                    f"{statistics.median(admission):,.0f}",
                    f"worst {min(admission):,.0f}",
                    "",
                ]
            )
            ratio = statistics.median(durable) / statistics.median(admission)
            rows.append([f"  ratio {DURABLE} / {ON_ADMISSION}", f"{ratio:.2f}", "", ""])
    every_search = [ms for values in results.search_ms.values() for ms in values]
    rows.append(_latency_row("trace search, limit 20 (ms)", every_search, "p95 < 50"))
    rows.extend(
        _latency_row(f"  by {name}", values, "") for name, values in results.search_ms.items()
    )
    rows.append(
        _latency_row(
            f"  tag no span has ({results.rare_partial}/{len(results.rare_ms)} partial)",
            results.rare_ms,
            "bounded",
        )
    )
    rows.append(_latency_row("trace fetch by id (ms)", results.fetch_ms, "p95 < 20"))
    ratio = statistics.median(results.findings_ms) / max(statistics.median(results.fetch_ms), 1e-9)
    rows.append(
        _latency_row(f"  its findings (ms; {ratio:.2f}x the fetch)", results.findings_ms, "")
    )
    for name, values in results.monitor_ms.items():
        rows.append(_latency_row(f"monitor buckets, 1 h, {name} (ms)", values, "bounded"))
    rows.append(
        [
            f"collector RSS with {results.stored_spans:,} spans (MB)",
            f"{results.rss_mb:.0f}",
            f"peak {results.peak_rss_mb:.0f}",
            "< 200",
        ]
    )
    header = (
        f"collector benchmarks{' (quick: numbers are rough)' if quick else ''}: "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {inflight} requests in"
        " flight per sender, load average " + ", ".join(f"{v:.1f}" for v in os.getloadavg())
    )
    table = render_table(["measure", "median", "worst / p95 / peak", "goal"], rows)
    return f"{header}\n{table}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.collector",
        description=__doc__.splitlines()[0] if __doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="small N: a smoke run in seconds")
    parser.add_argument("--grpc-spans", type=int, help="spans sent over OTLP/gRPC (1,000,000)")
    parser.add_argument("--http-spans", type=int, help="spans sent over OTLP/HTTP (200,000)")
    parser.add_argument("--rounds", type=int, help="rounds of the four searches (50)")
    parser.add_argument(
        "--inflight",
        type=int,
        default=16,
        help="requests each sender keeps in flight (default: %(default)s); with durable"
        " acknowledgement, concurrency is what lets one commit carry many requests",
    )
    parser.add_argument(
        "--no-compare",
        action="store_true",
        help=f"skip the ingest runs against a collector with {ON_ADMISSION}",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    grpc_spans = args.grpc_spans or (20_480 if args.quick else 1_000_000)
    http_spans = args.http_spans or (10_240 if args.quick else 200_000)
    rounds = args.rounds or (5 if args.quick else 50)
    runs = 2 if args.quick else 5
    results = Results()
    with tempfile.TemporaryDirectory(prefix="collector-bench-") as directory:
        root = Path(directory)
        collectors: dict[str, CollectorProcess] = {}
        try:
            collectors[DURABLE] = CollectorProcess(root / "durable")
            if not args.no_compare:
                collectors[ON_ADMISSION] = CollectorProcess(
                    root / "admission", on_admission_config(root)
                )
        except BenchError as exc:
            for started in collectors.values():
                started.stop()
            print(f"collector benchmarks: {exc}", file=sys.stderr)
            return 1
        collector = collectors[DURABLE]
        try:
            # Alternate the protocols so both meet a store of about the same size, and the
            # two collectors so both meet the same load on the machine.
            for _ in range(runs):
                for protocol, spans in (("gRPC", grpc_spans), ("HTTP", http_spans)):
                    for mode, process in collectors.items():
                        rates = ingest(process, protocol.lower(), spans // runs, 1, args.inflight)
                        results.ingest.setdefault(f"{protocol} {mode}", []).extend(rates)
            if ON_ADMISSION in collectors:
                collectors.pop(ON_ADMISSION).stop()
            results.peak_rss_mb = collector.memory_mb("VmHWM")
            results.stored_spans = collector.stored()
            query(collector, rounds, results)
            results.rss_mb = collector.memory_mb("VmRSS")
        except (BenchError, httpx.HTTPError) as exc:
            print(f"collector benchmarks: {exc}", file=sys.stderr)
            return 1
        finally:
            for process in collectors.values():
                process.stop()
    print(report(results, args.quick, args.inflight), flush=True)
    return 0
