"""A stand-in for the collector's query API, used by the browser tests only until the real
collector (`onehub.collector.start_collector`) exists. It answers from a fixed list of Jaeger
traces with the shapes the viewer reads; it is not a reference for the API's semantics.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from onehub.collector.web import render_trace_html, viewer_routes

Trace = dict[str, Any]


@dataclass
class FakeStore:
    traces: list[Trace] = field(default_factory=list)
    logs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def add(
        self,
        trace: Trace,
        logs: Sequence[dict[str, Any]] = (),
        findings: Sequence[dict[str, Any]] = (),
    ) -> None:
        self.traces.append(trace)
        self.logs[trace["traceID"]] = list(logs)
        self.findings[trace["traceID"]] = list(findings)

    def find(self, trace_id: str) -> Trace | None:
        return next((t for t in self.traces if t["traceID"] == trace_id), None)


def _service(trace: Trace, span: dict[str, Any]) -> str:
    return str(trace["processes"][span["processID"]]["serviceName"])


def _envelope(data: Any, status: int = 200, error: str | None = None) -> JSONResponse:
    errors = [{"code": status, "msg": error}] if error else None
    body = {
        "data": data,
        "total": len(data) if isinstance(data, list) else 0,
        "limit": 0,
        "offset": 0,
        "errors": errors,
    }
    return JSONResponse(body, status_code=status)


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_app(store: FakeStore) -> Starlette:
    async def services(request: Request) -> Response:
        names = sorted({_service(t, s) for t in store.traces for s in t["spans"]})
        return _envelope(names)

    async def operations(request: Request) -> Response:
        wanted = request.path_params["service"]
        names = sorted(
            {
                s["operationName"]
                for t in store.traces
                for s in t["spans"]
                if _service(t, s) == wanted
            }
        )
        return _envelope(names)

    async def search(request: Request) -> Response:
        service = request.query_params.get("service")
        if not service:
            return _envelope(None, 400, "parameter 'service' is required")
        operation = request.query_params.get("operation")
        limit = int(request.query_params.get("limit", "20"))
        found = [
            t
            for t in store.traces
            if any(
                _service(t, s) == service and (not operation or s["operationName"] == operation)
                for s in t["spans"]
            )
        ]
        found.sort(key=lambda t: -min(s["startTime"] for s in t["spans"]))
        return _envelope(found[:limit])

    async def trace(request: Request) -> Response:
        found = store.find(request.path_params["trace_id"])
        if found is None:
            return _envelope(None, 404, "trace not found")
        return _envelope([found])

    async def logs(request: Request) -> Response:
        return _envelope(store.logs.get(request.path_params["trace_id"], []))

    async def findings(request: Request) -> Response:
        return _envelope(store.findings.get(request.path_params["trace_id"], []))

    async def export(request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        found = store.find(trace_id)
        if found is None:
            return _envelope(None, 404, "trace not found")
        return HTMLResponse(render_trace_html(found, store.logs.get(trace_id, [])))

    async def stats(request: Request) -> Response:
        groups: dict[tuple[str, str, str], list[tuple[int, bool]]] = {}
        for t in store.traces:
            for s in t["spans"]:
                tags = {tag["key"]: tag["value"] for tag in s["tags"]}
                key = (_service(t, s), s["operationName"], str(tags.get("span.kind", "internal")))
                groups.setdefault(key, []).append((s["duration"], tags.get("error") is True))
        rows = []
        for (service, operation, kind), items in sorted(groups.items()):
            durations = [d for d, _ in items]
            errors = sum(1 for _, e in items if e)
            rows.append(
                {
                    "service": service,
                    "operation": operation,
                    "spanKind": kind,
                    "count": len(items),
                    "ratePerSec": len(items) / 3600,
                    "errorCount": errors,
                    "errorRatio": errors / len(items),
                    "p50": _percentile(durations, 0.5),
                    "p95": _percentile(durations, 0.95),
                    "p99": _percentile(durations, 0.99),
                }
            )
        return JSONResponse({"data": rows})

    async def dependencies(request: Request) -> Response:
        calls: dict[tuple[str, str], int] = {}
        for t in store.traces:
            by_id = {s["spanID"]: s for s in t["spans"]}
            for s in t["spans"]:
                for ref in s["references"]:
                    parent = by_id.get(ref["spanID"])
                    if parent and _service(t, parent) != _service(t, s):
                        pair = (_service(t, parent), _service(t, s))
                        calls[pair] = calls.get(pair, 0) + 1
        return _envelope([{"parent": p, "child": c, "callCount": n} for (p, c), n in calls.items()])

    async def tail(request: Request) -> Response:
        async def events() -> AsyncIterator[str]:
            yield "retry: 60000\n\n"
            for t in store.traces:
                root = t["spans"][0]
                item = {
                    "traceID": t["traceID"],
                    "service": _service(t, root),
                    "operation": root["operationName"],
                    "startTime": root["startTime"],
                    "duration": root["duration"],
                    "spanCount": len(t["spans"]),
                    "errors": sum(1 for s in t["spans"] for g in s["tags"] if g["key"] == "error"),
                }
                yield f"event: trace\ndata: {json.dumps(item)}\n\n"
            for _ in range(100):
                if await request.is_disconnected():
                    return
                await asyncio.sleep(0.1)

        return StreamingResponse(events(), media_type="text/event-stream")

    api = "/jaeger/api"
    routes = [
        Route(f"{api}/services", services),
        Route(f"{api}/services/{{service}}/operations", operations),
        Route(f"{api}/traces", search),
        Route(f"{api}/traces/{{trace_id}}", trace),
        Route(f"{api}/dependencies", dependencies),
        Route(f"{api}/x/stats", stats),
        Route(f"{api}/x/traces/{{trace_id}}/logs", logs),
        Route(f"{api}/x/traces/{{trace_id}}/findings", findings),
        Route(f"{api}/x/traces/{{trace_id}}/export.html", export),
        Route(f"{api}/x/tail", tail),
    ]
    return Starlette(routes=[*routes, *viewer_routes()])
