"""The viewer's endpoints beyond Jaeger, under `/jaeger/api/x/`: statistics, time-bucketed
rate/errors/latency (the Monitor tab), findings, a trace's logs, the live tail (Server-Sent
Events), one-file HTML export and the collector's counters."""

from __future__ import annotations

import asyncio
import importlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from onehub_collector.query import params
from onehub_collector.query.params import ParamError
from onehub_collector.query.responses import envelope, envelope_error
from onehub_collector.query.service import QueryService
from onehub_collector.query.stats import DEFAULT_BUCKETS, MAX_BUCKETS
from onehub_collector.tail import TailHub, TooManySubscribersError

_DEFAULT_STATS_LOOKBACK_MS = 3600 * 1000
_KEEPALIVE_S = 15.0
_DEFAULT_MIN_REPEATS = 5
_MAX_MONITOR_LOOKBACK_MS = 7 * 24 * 3600 * 1000
EXPORT_MODULE = "onehub_collector.web.export"


def load_optional(module: str) -> Any | None:
    """Import a module of the viewer package, or None when this build has no viewer."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module.startswith(exc.name):
            return None
        raise


def extra_routes(
    service: QueryService, tail: TailHub, status: Callable[[], dict[str, Any]]
) -> list[BaseRoute]:
    async def stats(request: Request) -> Response:
        end_ms = params.time_ms(request.query_params, "endTs", params.now_us() // 1000)
        lookback_ms = params.time_ms(request.query_params, "lookback", _DEFAULT_STATS_LOOKBACK_MS)
        if lookback_ms <= 0:
            raise ParamError("unable to parse param 'lookback': must be positive")
        name = request.query_params.get("service") or None
        rows = await service.stats(name, (end_ms - lookback_ms) * 1000, end_ms * 1000)
        return JSONResponse({"data": rows})

    async def monitor(request: Request) -> Response:
        end_ms = params.integer(request.query_params, "endTs", params.now_us() // 1000)
        lookback_ms = params.integer(request.query_params, "lookback", _DEFAULT_STATS_LOOKBACK_MS)
        if not 0 < lookback_ms <= _MAX_MONITOR_LOOKBACK_MS:
            raise ParamError(
                "unable to parse param 'lookback': must be positive and at most 7 days"
            )
        step_ms = params.integer(
            request.query_params, "step", max(1000, -(-lookback_ms // DEFAULT_BUCKETS))
        )
        if step_ms <= 0 or lookback_ms / step_ms > MAX_BUCKETS:
            raise ParamError(
                f"unable to parse param 'step': must be positive and give at most"
                f" {MAX_BUCKETS} buckets over the lookback"
            )
        name = request.query_params.get("service") or None
        since_us, until_us = (end_ms - lookback_ms) * 1000, end_ms * 1000
        return JSONResponse(
            {"data": await service.monitor(name, since_us, until_us, step_ms * 1000)}
        )

    async def findings(request: Request) -> Response:
        trace_id = params.parse_trace_id(request.path_params["trace_id"])
        min_repeats = params.integer(request.query_params, "minRepeats", _DEFAULT_MIN_REPEATS)
        if min_repeats < 2:
            raise ParamError("unable to parse param 'minRepeats': must be at least 2")
        found = await service.findings(trace_id, min_repeats)
        if found is None:
            return envelope_error(404, "trace not found")
        return JSONResponse({"data": found})

    async def logs(request: Request) -> Response:
        trace_id = params.parse_trace_id(request.path_params["trace_id"])
        return JSONResponse({"data": await service.trace_logs(trace_id)})

    async def export_html(request: Request) -> Response:
        trace_id = params.parse_trace_id(request.path_params["trace_id"])
        exporter = load_optional(EXPORT_MODULE)
        if exporter is None:
            return envelope_error(503, "trace export is not available: the viewer is not installed")
        trace = await service.jaeger_trace(trace_id)
        if trace is None:
            return envelope_error(404, "trace not found")
        findings_found = await service.findings(trace_id, _DEFAULT_MIN_REPEATS) or []
        logs = await service.trace_logs(trace_id)
        # Rendering reads the viewer's assets from disk: keep it off the event loop.
        page = await asyncio.to_thread(
            exporter.render_trace_html, trace, logs, findings=findings_found
        )
        return HTMLResponse(
            page,
            headers={"Content-Disposition": f'attachment; filename="trace-{trace_id.hex()}.html"'},
        )

    async def live_tail(request: Request) -> Response:
        try:
            subscription = tail.subscribe()
            queue = await subscription.__aenter__()
        except TooManySubscribersError as exc:
            return envelope_error(503, str(exc))

        async def events() -> AsyncIterator[str]:
            try:
                yield ": connected\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
                    except TimeoutError:
                        yield ": keepalive\n\n"
                        continue
                    if event is None:
                        return
                    yield f"event: trace\ndata: {json.dumps(event)}\n\n"
            finally:
                await subscription.__aexit__(None, None, None)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def collector_status(request: Request) -> Response:
        return envelope(status())

    return [
        Route("/x/stats", stats),
        Route("/x/monitor", monitor),
        Route("/x/traces/{trace_id}/findings", findings),
        Route("/x/traces/{trace_id}/logs", logs),
        Route("/x/traces/{trace_id}/export.html", export_html),
        Route("/x/tail", live_tail),
        Route("/x/status", collector_status),
    ]
