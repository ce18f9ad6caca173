"""Query parameters of both Jaeger dialects, parsed with Jaeger's units and error messages.

Every parser raises ParamError with a message fit for the client; routes answer it with 400.
Times and durations are bounded (±10,000 years) so that no arithmetic on them leaves SQLite's
64-bit integers, and JSON parameters are bounded in depth.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from datetime import UTC, datetime

from onehub_collector.durations import parse_duration_us
from onehub_collector.store.reader import TraceQuery

DEFAULT_LOOKBACK_US = 2 * 24 * 3600 * 1_000_000  # Jaeger's default search window
DEFAULT_LIMIT = 100  # Jaeger's defaultQueryLimit
MAX_LIMIT = 1500  # the largest the Jaeger UI offers
# The year 10000 in microseconds since the epoch: times and durations within ±this, and their
# sums and differences, stay far inside a signed 64-bit integer.
MAX_TIME_US = 253_402_300_800 * 1_000_000
MAX_TIME_MS = MAX_TIME_US // 1000
_INT64 = 2**63 - 1


class ParamError(ValueError):
    """A query parameter the API cannot use; str() is the client-facing message."""


def now_us() -> int:
    return time.time_ns() // 1000


def parse_trace_id(text: str) -> bytes:
    """A trace id in hex, up to 32 digits (Jaeger drops leading zeros), as 16 bytes."""
    cleaned = text.strip().lower()
    if not cleaned or len(cleaned) > 32 or not re.fullmatch(r"[0-9a-f]+", cleaned):
        raise ParamError(f"cannot parse traceID {text!r}: expected up to 32 hex digits")
    return bytes.fromhex(cleaned.rjust(32, "0"))


def integer(params: Mapping[str, str], name: str, default: int, *, bound: int = _INT64) -> int:
    """The integer parameter `name` (or `default` when absent), within ±`bound`."""
    raw = params.get(name, "")
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        shown = raw if len(raw) <= 40 else f"{raw[:37]}..."
        raise ParamError(f"unable to parse param '{name}': {shown!r} is not an integer") from None
    if not -bound <= value <= bound:
        raise ParamError(f"unable to parse param '{name}': {value} is out of range (±{bound})")
    return value


def time_us(params: Mapping[str, str], name: str, default: int) -> int:
    """A time in microseconds since the epoch (Jaeger's `start`, `end`)."""
    return integer(params, name, default, bound=MAX_TIME_US)


def time_ms(params: Mapping[str, str], name: str, default: int) -> int:
    """A time or span of time in milliseconds (Jaeger's `endTs`, `lookback`)."""
    return integer(params, name, default, bound=MAX_TIME_MS)


def duration_us(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name, "")
    if raw == "":
        return None
    try:
        value = parse_duration_us(raw)
    except ValueError as exc:
        raise ParamError(f"unable to parse param '{name}': {exc}") from None
    if not -MAX_TIME_US <= value <= MAX_TIME_US:
        raise ParamError(f"unable to parse param '{name}': duration {raw!r} is out of range")
    return value


def tags(json_values: list[str], simple_values: list[str]) -> dict[str, str]:
    """Jaeger's `tags` (a JSON map of strings, repeatable) and `tag` (key:value, repeatable)."""
    found: dict[str, str] = {}
    for value in simple_values:
        key, sep, rest = value.partition(":")
        if not sep:
            raise ParamError(f"malformed 'tag' parameter, expecting key:value, received: {value}")
        found[key] = rest
    for value in json_values:
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ParamError(f"malformed 'tags' parameter, cannot unmarshal JSON: {exc}") from None
        except RecursionError:
            raise ParamError("malformed 'tags' parameter: JSON nested too deeply") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
            raise ParamError("malformed 'tags' parameter: expected a JSON object of strings")
        found.update(parsed)
    return found


def classic_search(
    params: Mapping[str, str], tag_json: list[str], tag_simple: list[str]
) -> TraceQuery:
    """The classic `traces` search; ParamError like Jaeger's query parser."""
    service = params.get("service", "")
    if not service:
        raise ParamError("parameter 'service' is required")
    end = time_us(params, "end", now_us())
    lookback = (
        duration_us(params, "lookback") if params.get("lookback") not in (None, "custom") else None
    )
    start = time_us(params, "start", end - (lookback or DEFAULT_LOOKBACK_US))
    limit = integer(params, "limit", DEFAULT_LIMIT)
    if limit <= 0:
        limit = DEFAULT_LIMIT
    minimum = duration_us(params, "minDuration")
    maximum = duration_us(params, "maxDuration")
    if minimum and maximum and maximum < minimum:
        raise ParamError("'maxDuration' should be greater than 'minDuration'")
    return TraceQuery(
        service=service,
        operation=params.get("operation") or None,
        tags=tags(tag_json, tag_simple),
        start_min_us=start,
        start_max_us=end,
        duration_min_us=minimum,
        duration_max_us=maximum,
        limit=min(limit, MAX_LIMIT),
    )


_RFC3339 = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})"
)


def rfc3339_us(text: str, name: str) -> int:
    """Microseconds since the epoch of an RFC 3339 time with up to nanosecond precision."""
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        raise ParamError(f"malformed parameter {name}: {text!r} is not an RFC 3339 time")
    day, clock, fraction, zone = match.groups()
    offset = "+00:00" if zone in ("Z", "z") else zone
    try:
        moment = datetime.fromisoformat(f"{day}T{clock}{offset}").astimezone(UTC)
    except (ValueError, OverflowError):
        raise ParamError(f"malformed parameter {name}: {text!r} is not a valid time") from None
    micros = int((fraction or "0").ljust(9, "0")[:6])
    return int(moment.timestamp()) * 1_000_000 + micros


def v3_search(params: Mapping[str, str], attribute_params: Mapping[str, str]) -> TraceQuery:
    """The v3 `traces` search; ParamError with Jaeger v3's messages."""
    low, high = params.get("query.start_time_min", ""), params.get("query.start_time_max", "")
    if not low or not high:
        raise ParamError("query.start_time_min and query.start_time_max are required")
    service = params.get("query.service_name", "")
    if not service:
        raise ParamError("query.service_name is required")
    attributes: dict[str, str] = dict(attribute_params)
    if params.get("query.attributes"):
        attributes.update(tags([params["query.attributes"]], []))
    num_traces = integer(params, "query.num_traces", 20)
    return TraceQuery(
        service=service,
        operation=params.get("query.operation_name") or None,
        tags=attributes,
        start_min_us=rfc3339_us(low, "query.start_time_min"),
        start_max_us=rfc3339_us(high, "query.start_time_max"),
        duration_min_us=duration_us(params, "query.duration_min"),
        duration_max_us=duration_us(params, "query.duration_max"),
        limit=min(num_traces if num_traces > 0 else 20, MAX_LIMIT),
    )
