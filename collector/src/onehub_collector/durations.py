"""Go-style duration strings (`1.2s`, `500ms`, `1h30m`), as Jaeger's API and the OpenTelemetry
Collector's YAML write them."""

from __future__ import annotations

import math
import re

_UNITS_US = {
    "ns": 0.001,
    "us": 1.0,
    "µs": 1.0,  # Go accepts the micro sign and the Greek mu alike
    "μs": 1.0,
    "ms": 1_000.0,
    "s": 1_000_000.0,
    "m": 60_000_000.0,
    "h": 3_600_000_000.0,
    # Not Go, but what Jaeger's UI sends as a lookback (`2d`, `7d`).
    "d": 86_400_000_000.0,
}
_MAX_US = float(2**62)  # ~146,000 years: anything longer is a mistake, not a duration
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)")


def parse_duration_us(text: str) -> int:
    """Microseconds in a Go duration such as `1.2s`, `500ms` or `1h30m` (also `7d`).

    Raises ValueError naming the text when it is not such a duration; `0` alone is allowed.
    """
    raw = text.strip()
    sign = 1
    if raw[:1] in "+-" and raw:
        sign = -1 if raw[0] == "-" else 1
        raw = raw[1:]
    if raw == "0":
        return 0
    position = 0
    total = 0.0
    for match in _PART.finditer(raw):
        if match.start() != position:
            break
        total += float(match.group(1)) * _UNITS_US[match.group(2)]
        position = match.end()
    if not raw or position != len(raw):
        raise ValueError(
            f"invalid duration {_short(text)!r}: use a number and a unit, e.g. 1.2s or 500ms"
        )
    if not math.isfinite(total) or total > _MAX_US:
        raise ValueError(f"duration {_short(text)!r} is out of range")
    return sign * round(total)


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:37]}..."


def parse_duration_s(text: str) -> float:
    """Seconds in a Go duration; ValueError when it is not one."""
    return parse_duration_us(text) / 1_000_000
