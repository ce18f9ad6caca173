"""Automatic findings on one trace.

- `n_plus_one`: under one parent, the same database statement (`db.query.text`, or the older
  `db.statement`), or failing that the same service and operation, runs at least
  `min_repeats` times.
- `sequential`: under one parent, two or more CLIENT calls to different operations that run
  one after another without overlapping. Nothing in a trace says whether a call needs the
  previous call's answer, so different operations are taken as independent; repeats of one
  operation are N+1's business, not this one's.
- `swallowed_error`: a span with ERROR status whose parent's status is OK or unset.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from opentelemetry.proto.trace.v1.trace_pb2 import Span

from onehub.collector.store.reader import StoredSpan

_STATEMENT_KEYS = ("db.query.text", "db.statement")
_KIND_CLIENT = 3
_STATUS_ERROR = 2


def _statement(span: Span) -> str | None:
    for kv in span.attributes:
        if kv.key in _STATEMENT_KEYS and kv.value.string_value:
            return re.sub(r"\s+", " ", kv.value.string_value.strip())
    return None


def find_issues(spans: Sequence[StoredSpan], *, min_repeats: int = 5) -> list[dict[str, Any]]:
    """Findings of the three kinds, each `{kind, spanIDs, message}`, in trace order."""
    by_id = {s.span.span_id: s for s in spans}
    children: dict[bytes, list[StoredSpan]] = {}
    for stored in spans:
        if stored.span.parent_span_id in by_id:
            children.setdefault(stored.span.parent_span_id, []).append(stored)
    found: list[dict[str, Any]] = []
    for parent_id, kids in children.items():
        parent = by_id[parent_id].span
        repeats = _n_plus_one(parent, kids, min_repeats)
        found.extend(repeats)
        # Calls already reported as N+1 are not reported again as sequential.
        repeated = {span_id for finding in repeats for span_id in finding["spanIDs"]}
        found.extend(_sequential(parent, [k for k in kids if k.span.span_id.hex() not in repeated]))
    found.extend(_swallowed(spans, by_id))
    return found


def _n_plus_one(parent: Span, kids: list[StoredSpan], min_repeats: int) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], list[Span]] = {}
    for kid in kids:
        statement = _statement(kid.span)
        key = (
            ("statement", statement)
            if statement
            else ("operation", f"{kid.service} {kid.span.name}")
        )
        groups.setdefault(key, []).append(kid.span)
    found = []
    for (what, text), repeated in groups.items():
        if len(repeated) >= min_repeats:
            label = f"statement {text!r}" if what == "statement" else f"operation {text!r}"
            found.append(
                {
                    "kind": "n_plus_one",
                    "spanIDs": [s.span_id.hex() for s in repeated],
                    "message": f"{label} ran {len(repeated)} times under {parent.name!r};"
                    " one batched call could replace them",
                }
            )
    return found


def _sequential(parent: Span, kids: list[StoredSpan]) -> list[dict[str, Any]]:
    calls = sorted(
        (k.span for k in kids if k.span.kind == _KIND_CLIENT), key=lambda s: s.start_time_unix_nano
    )
    found = []
    run: list[Span] = []
    for call in calls:
        if run and (
            call.start_time_unix_nano < run[-1].end_time_unix_nano
            or call.name in {s.name for s in run}
        ):
            found.extend(_report_run(parent, run))
            run = []
        run.append(call)
    found.extend(_report_run(parent, run))
    return found


def _report_run(parent: Span, run: list[Span]) -> list[dict[str, Any]]:
    if len(run) < 2:
        return []
    durations = [(s.end_time_unix_nano - s.start_time_unix_nano) // 1000 for s in run]
    total, longest = sum(durations), max(durations)
    return [
        {
            "kind": "sequential",
            "spanIDs": [s.span_id.hex() for s in run],
            "message": f"{len(run)} calls under {parent.name!r} ran one after another"
            f" ({total} µs); in parallel they could take about {longest} µs",
        }
    ]


def _swallowed(spans: Sequence[StoredSpan], by_id: dict[bytes, StoredSpan]) -> list[dict[str, Any]]:
    found = []
    for stored in spans:
        span = stored.span
        parent = by_id.get(span.parent_span_id)
        if (
            span.status.code == _STATUS_ERROR
            and parent
            and parent.span.status.code != _STATUS_ERROR
        ):
            reason = f" ({span.status.message})" if span.status.message else ""
            found.append(
                {
                    "kind": "swallowed_error",
                    "spanIDs": [span.span_id.hex(), parent.span.span_id.hex()],
                    "message": f"{span.name!r} failed{reason} but its parent"
                    f" {parent.span.name!r} reports no error",
                }
            )
    return found
