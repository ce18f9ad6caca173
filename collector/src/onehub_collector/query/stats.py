"""Per-operation rate, errors and latency percentiles from stored spans (no Prometheus)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from onehub_collector.query.jaeger_model import KIND_NAMES, STATUS_ERROR
from onehub_collector.store.reader import SpanSummary


def percentile(sorted_values: Sequence[int], fraction: float) -> int:
    """Nearest-rank percentile of ascending values (0 for none)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def operation_stats(summaries: Sequence[SpanSummary], window_s: float) -> list[dict[str, Any]]:
    """One row per (service, operation, kind), sorted by service then operation."""
    groups: dict[tuple[str, str, int], list[SpanSummary]] = {}
    for summary in summaries:
        groups.setdefault((summary.service, summary.operation, summary.kind), []).append(summary)
    rows = []
    for (service, operation, kind), spans in sorted(groups.items()):
        durations = sorted(s.duration_us for s in spans)
        errors = sum(1 for s in spans if s.status == STATUS_ERROR)
        rows.append(
            {
                "service": service,
                "operation": operation,
                "spanKind": KIND_NAMES.get(kind, "unspecified"),
                "count": len(spans),
                "ratePerSec": len(spans) / window_s if window_s > 0 else 0.0,
                "errorCount": errors,
                "errorRatio": errors / len(spans),
                "p50": percentile(durations, 0.50),
                "p95": percentile(durations, 0.95),
                "p99": percentile(durations, 0.99),
            }
        )
    return rows


KIND_SERVER = 2
MAX_BUCKETS = 240
DEFAULT_BUCKETS = 60


def _bucket_row(durations: list[int], errors: int, step_s: float) -> dict[str, Any]:
    durations.sort()
    count = len(durations)
    return {
        "count": count,
        "ratePerSec": count / step_s if step_s > 0 else 0.0,
        "errorCount": errors,
        "errorRate": errors / count if count else 0.0,
        "p50": percentile(durations, 0.50) if count else None,
        "p95": percentile(durations, 0.95) if count else None,
        "p99": percentile(durations, 0.99) if count else None,
    }


def red_series(
    summaries: Sequence[SpanSummary],
    since_us: int,
    until_us: int,
    step_us: int,
    *,
    by_operation: bool,
) -> dict[str, Any]:
    """Rate, errors and duration percentiles of SERVER spans in buckets of `step_us` from
    `since_us`: one series per service, and per (service, operation) when `by_operation`.

    A bucket without spans has count 0 and null percentiles (a gap, not a zero latency)."""
    buckets = max(1, math.ceil((until_us - since_us) / step_us))
    step_s = step_us / 1_000_000
    groups: dict[tuple[str, str | None], list[tuple[list[int], list[int]]]] = {}

    def series(key: tuple[str, str | None]) -> list[tuple[list[int], list[int]]]:
        if key not in groups:
            groups[key] = [([], [0]) for _ in range(buckets)]
        return groups[key]

    for summary in summaries:
        if summary.kind != KIND_SERVER or not since_us <= summary.start_us < until_us:
            continue
        index = min(buckets - 1, (summary.start_us - since_us) // step_us)
        keys: list[tuple[str, str | None]] = [(summary.service, None)]
        if by_operation:
            keys.append((summary.service, summary.operation))
        for key in keys:
            durations, errors = series(key)[index]
            durations.append(summary.duration_us)
            if summary.status == STATUS_ERROR:
                errors[0] += 1
    rows = []
    for (service, operation), cells in sorted(
        groups.items(), key=lambda g: (g[0][0], g[0][1] or "")
    ):
        every = sorted(x for d, _ in cells for x in d)
        errors_total = sum(e[0] for _, e in cells)
        rows.append(
            {
                "service": service,
                "operation": operation,
                "count": len(every),
                "errorCount": errors_total,
                "errorRate": errors_total / len(every),
                "p50": percentile(every, 0.50),
                "p95": percentile(every, 0.95),
                "p99": percentile(every, 0.99),
                "buckets": [_bucket_row(d, e[0], step_s) for d, e in cells],
            }
        )
    return {
        "start": since_us,
        "end": until_us,
        "stepMs": step_us // 1000,
        "bucketStarts": [since_us + i * step_us for i in range(buckets)],
        "series": rows,
    }
