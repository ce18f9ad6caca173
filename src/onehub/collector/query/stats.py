"""Per-operation rate, errors and latency percentiles from stored spans (no Prometheus)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from onehub.collector.query.jaeger_model import KIND_NAMES, STATUS_ERROR
from onehub.collector.store.reader import SpanSummary


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
