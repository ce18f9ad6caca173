"""The one query service behind both Jaeger dialects and the viewer's extra endpoints.

Each method runs its store reads and JSON conversion on a small worker pool, so a slow query
never blocks the event loop that also receives telemetry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from onehub_collector.query.findings import find_issues
from onehub_collector.query.jaeger_model import trace_to_jaeger
from onehub_collector.query.otlp_model import log_to_row, spans_to_resource_spans
from onehub_collector.query.stats import KIND_SERVER, operation_stats, red_series
from onehub_collector.store.reader import StoredSpan, StoreReader, TraceQuery

_T = TypeVar("_T")


class QueryService:
    def __init__(self, reader: StoreReader, *, workers: int = 2) -> None:
        self._reader = reader
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="trace-query")

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._reader.close()

    async def _run(self, call: Callable[[], _T]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    async def services(self) -> list[str]:
        return await self._run(self._reader.services)

    async def operations(self, service: str, kind: int | None) -> list[tuple[str, int]]:
        return await self._run(lambda: self._reader.operations(service, kind))

    async def find_jaeger_traces(self, query: TraceQuery) -> tuple[list[dict[str, Any]], bool]:
        """Matching traces in Jaeger's model, newest first, and whether the search completed
        (False: the store's search budget ran out, older matches may exist)."""

        def run() -> tuple[list[dict[str, Any]], bool]:
            traces, complete = self._find(query)
            return [self._jaeger(t, s) for t, s in traces], complete

        return await self._run(run)

    async def find_resource_spans(self, query: TraceQuery) -> list[dict[str, Any]]:
        """Matching traces as one OTLP/JSON `resourceSpans` list (v3, whose answer has no
        place for a warning: a search cut short by the budget returns what it found)."""

        def run() -> list[dict[str, Any]]:
            found: list[dict[str, Any]] = []
            for _, spans in self._find(query)[0]:
                found.extend(self._otlp(spans))
            return found

        return await self._run(run)

    async def jaeger_trace(self, trace_id: bytes) -> dict[str, Any] | None:
        def run() -> dict[str, Any] | None:
            spans = self._reader.spans_of([trace_id]).get(trace_id)
            return None if spans is None else self._jaeger(trace_id, spans)

        return await self._run(run)

    async def jaeger_traces(self, trace_ids: list[bytes]) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            found = self._reader.spans_of(trace_ids)
            return [self._jaeger(t, found[t]) for t in trace_ids if t in found]

        return await self._run(run)

    async def otlp_trace(self, trace_id: bytes) -> list[dict[str, Any]] | None:
        def run() -> list[dict[str, Any]] | None:
            spans = self._reader.spans_of([trace_id]).get(trace_id)
            return None if spans is None else self._otlp(spans)

        return await self._run(run)

    async def trace_logs(self, trace_id: bytes) -> list[dict[str, Any]]:
        return await self._run(lambda: [log_to_row(log) for log in self._reader.logs_of(trace_id)])

    async def findings(self, trace_id: bytes, min_repeats: int) -> list[dict[str, Any]] | None:
        def run() -> list[dict[str, Any]] | None:
            spans = self._reader.spans_of([trace_id]).get(trace_id)
            return None if spans is None else find_issues(spans, min_repeats=min_repeats)

        return await self._run(run)

    async def stats(
        self, service: str | None, since_us: int, until_us: int
    ) -> list[dict[str, Any]]:
        def run() -> list[dict[str, Any]]:
            summaries = self._reader.summaries(service, since_us, until_us)
            return operation_stats(summaries, (until_us - since_us) / 1_000_000)

        return await self._run(run)

    async def monitor(
        self, service: str | None, since_us: int, until_us: int, step_us: int
    ) -> dict[str, Any]:
        """Time-bucketed rate, errors and latency of SERVER spans (see stats.red_series)."""

        def run() -> dict[str, Any]:
            summaries = self._reader.summaries(service, since_us, until_us, kind=KIND_SERVER)
            return red_series(
                summaries, since_us, until_us, step_us, by_operation=service is not None
            )

        return await self._run(run)

    async def dependencies(self, since_us: int, until_us: int) -> list[tuple[str, str, int]]:
        return await self._run(lambda: self._reader.dependencies(since_us, until_us))

    def _find(self, query: TraceQuery) -> tuple[list[tuple[bytes, list[StoredSpan]]], bool]:
        search = self._reader.search(query)
        found = self._reader.spans_of(search.trace_ids)
        traces = [(t, found[t]) for t in search.trace_ids if t in found]
        # Newest first by the trace's own start (its earliest span).
        traces.sort(key=lambda item: item[1][0].span.start_time_unix_nano, reverse=True)
        return traces, search.complete

    def _jaeger(self, trace_id: bytes, spans: list[StoredSpan]) -> dict[str, Any]:
        return trace_to_jaeger(trace_id, spans, self._reader.resource, self._reader.scope)

    def _otlp(self, spans: list[StoredSpan]) -> list[dict[str, Any]]:
        return spans_to_resource_spans(spans, self._reader.resource, self._reader.scope)
