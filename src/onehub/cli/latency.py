"""Latency arithmetic shared by `onehub loadgen` and the benchmarks, so both report the same
numbers for the same calls: nearest-rank percentiles over the exact list of latencies."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


def percentile(sorted_values: Sequence[float], pct: float) -> float:
    """Nearest-rank `pct`th percentile (0 < pct <= 100) of an ascending sequence; 0.0 when it
    is empty."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Milliseconds over the successful calls; all 0.0 when there were none."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    max_ms: float

    @classmethod
    def of(cls, latencies_s: Iterable[float]) -> LatencySummary:
        ordered = sorted(latencies_s)
        p50, p90, p99 = (percentile(ordered, pct) * 1000 for pct in (50, 90, 99))
        return cls(
            count=len(ordered),
            p50_ms=p50,
            p90_ms=p90,
            p99_ms=p99,
            mean_ms=sum(ordered) / len(ordered) * 1000 if ordered else 0.0,
            max_ms=ordered[-1] * 1000 if ordered else 0.0,
        )
