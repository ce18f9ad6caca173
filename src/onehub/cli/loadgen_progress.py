"""Live progress of a load run: cumulative latency percentiles and one status line a second.

Percentiles so far come from a log-bucket histogram (about 1% resolution, constant work per
call), so a long run can report them every second without re-sorting every latency it measured;
the final report still computes exact percentiles from the full list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TextIO

# Bucket k holds latencies in [BASE_S * GROWTH**k, BASE_S * GROWTH**(k+1)).
_BASE_S = 1e-6
_GROWTH = 1.02
_LOG_GROWTH = math.log(_GROWTH)


class LatencyHistogram:
    """Counts latencies (seconds) in logarithmic buckets; percentiles to within about 2%."""

    def __init__(self) -> None:
        self._buckets: dict[int, int] = {}
        self.count = 0

    def add(self, latency_s: float) -> None:
        index = max(0, int(math.log(max(latency_s, _BASE_S) / _BASE_S) / _LOG_GROWTH))
        self._buckets[index] = self._buckets.get(index, 0) + 1
        self.count += 1

    def percentile(self, pct: float) -> float:
        """Nearest-rank percentile in seconds (a bucket's upper bound); 0.0 when empty."""
        if not self.count:
            return 0.0
        rank = max(1, math.ceil(pct / 100 * self.count))
        seen = 0
        for index in sorted(self._buckets):
            seen += self._buckets[index]
            if seen >= rank:
                return _BASE_S * _GROWTH ** (index + 1)
        return 0.0  # not reached: the buckets sum to count


@dataclass(frozen=True, slots=True)
class Progress:
    """The run so far: `elapsed_s` since it started, successful and failed calls."""

    elapsed_s: float
    ok: int
    failed: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Successful calls per second over the real elapsed time."""
        return self.ok / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def line(self) -> str:
        return (
            f"loadgen {self.elapsed_s:6.1f}s  ok {self.ok}  errors {self.failed}  "
            f"{self.rate:.1f} ops/s  p50 {self.p50_ms:.2f} ms  p99 {self.p99_ms:.2f} ms"
        )


class ProgressPrinter:
    """Writes progress to `stream`: one line rewritten in place on a terminal, else plain
    lines (so a log or a pipe gets one readable line a second, with no control characters)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._in_place = stream.isatty()
        self._dirty = False

    def __call__(self, progress: Progress) -> None:
        if self._in_place:
            # Carriage return, then erase to the end of the line: the line is replaced.
            self._stream.write("\r\x1b[K" + progress.line())
            self._dirty = True
        else:
            self._stream.write(progress.line() + "\n")
        self._stream.flush()

    def finish(self) -> None:
        """End the in-place line so that what follows starts on a line of its own."""
        if self._dirty:
            self._stream.write("\n")
            self._stream.flush()
            self._dirty = False
