"""Is telemetry lean enough to leave on?

GET topic through the gateway on two servers started side by side on SQLite: one with every
request traced (parent-based always-on sampling, the default) and exported over OTLP/gRPC to
`onehub collector` running in another process, one with `OTEL_SDK_DISABLED=true`. Repetitions
alternate between them. The collector's CPU is reported too: on a two-core machine it competes
with the server and the load for the same cores, as a collector on the same host would.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import httpx

from benchmarks.load import LoadPool
from benchmarks.runs import (
    Repetition,
    RunSettings,
    Summary,
    load_job,
    measure,
    server_target,
    summarise,
)
from benchmarks.servers import (
    Server,
    onehub_collector,
    onehub_server,
    scratch_directory,
    sqlite_database,
    traced_env,
    untraced_env,
)
from benchmarks.stats import ratio, render_table

Mode = Literal["untraced", "traced"]
THROUGHPUT_GOAL = 0.80
P99_GOAL = 1.3
# Longer than the batch span processor's schedule delay (1 s), so the last spans have arrived.
_EXPORT_SETTLE_S = 2.0


@dataclass(frozen=True, slots=True)
class TelemetryResult:
    untraced: Summary
    traced: Summary
    spans_received: int | None  # by the collector, None if it could not be asked
    traced_calls: int
    drop_warnings: list[str]


def run_telemetry_benchmark(settings: RunSettings, pool: LoadPool) -> TelemetryResult:
    """Measure GET topic through the gateway, traced and untraced, in one run.

    Raise BenchSetupError when the collector or a server cannot be started.
    """
    command = settings.server_command
    with scratch_directory() as workdir:
        for name in ("traced", "untraced", "collector"):
            (workdir / name).mkdir()
        with (
            onehub_collector(workdir / "collector", untraced_env(), command) as collector,
            sqlite_database(workdir / "traced") as traced_url,
            sqlite_database(workdir / "untraced") as untraced_url,
            onehub_server(
                traced_url,
                workdir / "traced",
                env=traced_env(),
                collector=collector.otlp_grpc,
                command=command,
            ) as traced,
            onehub_server(
                untraced_url, workdir / "untraced", env=untraced_env(), command=command
            ) as untraced,
        ):
            servers: dict[Mode, Server] = {"untraced": untraced, "traced": traced}
            targets = {mode: server_target(server) for mode, server in servers.items()}
            runs: dict[Mode, list[Repetition]] = {"untraced": [], "traced": []}
            for _ in range(settings.repetitions):
                for mode in ("untraced", "traced"):
                    job = load_job(settings, "rest", "get_topic", targets[mode])
                    watched = {"server": servers[mode].pid, "collector": collector.pid}
                    runs[mode].append(measure(pool, job, watched))
            time.sleep(_EXPORT_SETTLE_S)
            spans = _spans_received(collector.ui_url)
        # Read after the servers stopped: shutdown reports spans it had to leave behind.
        drops = [
            line
            for line in traced.log.read_text(errors="replace").splitlines()
            if "dropped" in line
        ]
    wall_s = settings.warmup_s + settings.duration_s
    return TelemetryResult(
        untraced=summarise(runs["untraced"], wall_s),
        traced=summarise(runs["traced"], wall_s),
        spans_received=spans,
        traced_calls=sum(repetition.load.total_calls for repetition in runs["traced"]),
        drop_warnings=drops,
    )


def _spans_received(ui_url: str) -> int | None:
    """Spans the collector has accepted so far, from its status endpoint (None if unreadable)."""
    try:
        response = httpx.get(f"{ui_url}/api/x/status", timeout=10)
        counters = response.json()["data"]["received"]["traces"]
        return int(counters["received_items"])
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def telemetry_report(result: TelemetryResult) -> str:
    """The traced/untraced table, the two ratios against their goals, and export health."""
    headers = ["GET topic via gateway", "req/s", "p50 ms", "p99 ms", "server CPU ms/req"]
    headers += ["collector CPU ms/req", "failed"]
    rows = [
        _row("untraced (OTEL_SDK_DISABLED)", result.untraced),
        _row("traced, OTLP to collector", result.traced),
    ]
    throughput = ratio(result.traced.throughput, result.untraced.throughput)
    p99 = ratio(result.traced.p99_ms, result.untraced.p99_ms)
    cpu = ratio(result.traced.cpu_ms_per_call["server"], result.untraced.cpu_ms_per_call["server"])
    lines = [
        render_table(headers, rows),
        "",
        f"traced/untraced throughput {throughput:.2f} "
        f"(goal >= {THROUGHPUT_GOAL}: {'met' if throughput >= THROUGHPUT_GOAL else 'NOT met'})",
        f"traced/untraced p99        {p99:.2f} "
        f"(goal <= {P99_GOAL}: {'met' if 0 < p99 <= P99_GOAL else 'NOT met'})",
        f"traced/untraced server CPU per request {cpu:.2f}x",
    ]
    if result.spans_received is None:
        lines.append("spans received by the collector: unknown (status endpoint unreadable)")
    else:
        per_call = ratio(result.spans_received, result.traced_calls)
        lines.append(
            f"spans received by the collector: {result.spans_received} "
            f"for {result.traced_calls} traced requests ({per_call:.1f} per request)"
        )
    lines.append(f"span drop warnings from the traced server: {len(result.drop_warnings)}")
    lines.extend(f"  {warning}" for warning in result.drop_warnings[:3])
    for mode, summary in (("untraced", result.untraced), ("traced", result.traced)):
        if summary.failures:
            lines.append(f"FAILED calls ({mode}): {summary.failures}, {summary.first_failure}")
    return "\n".join(lines)


def _row(label: str, summary: Summary) -> Sequence[str]:
    return [
        label,
        f"{summary.throughput:.0f}",
        f"{summary.p50_ms:.2f}",
        f"{summary.p99_ms:.2f}",
        f"{summary.cpu_ms_per_call['server']:.3f}",
        f"{summary.cpu_ms_per_call['collector']:.3f}",
        str(summary.failures),
    ]
