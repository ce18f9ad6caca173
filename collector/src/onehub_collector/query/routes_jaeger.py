"""Jaeger's query API, both dialects: classic (`/services`, `/traces`, ...) and `/v3/...`.

Routes only parse parameters, call the query service and shape the answer; a ParamError they
let out is a 400 in the dialect's own error envelope (the handler in `app.py`).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from onehub_collector.query import params
from onehub_collector.query.jaeger_model import KIND_NAMES
from onehub_collector.query.params import ParamError
from onehub_collector.query.responses import envelope, envelope_error, v3_error
from onehub_collector.query.service import QueryService
from onehub_collector.store.tag_filter import SPAN_KINDS

_DEFAULT_DEPENDENCY_LOOKBACK_MS = 24 * 3600 * 1000
PARTIAL_SEARCH = (
    "search stopped at its time budget: these are the newest matches found, older ones may"
    " exist; narrow the time range or add a service operation to search further back"
)


def _kind_param(raw: str) -> int | None:
    """A span kind name (`server`, `SPAN_KIND_SERVER`, ...) or None for all kinds."""
    name = raw.strip().lower().removeprefix("span_kind_")
    if not name:
        return None
    if name not in SPAN_KINDS:
        raise ParamError(f"unsupported span kind: '{raw}'")
    return SPAN_KINDS[name]


def jaeger_routes(service: QueryService) -> list[BaseRoute]:
    async def services(request: Request) -> Response:
        names = await service.services()
        return envelope(names, total=len(names))

    async def operations_legacy(request: Request) -> Response:
        operations = await service.operations(request.path_params["service"], None)
        names = sorted({name for name, _ in operations})
        return envelope(names, total=len(names))

    async def operations(request: Request) -> Response:
        name = request.query_params.get("service", "")
        if not name:
            raise ParamError("parameter 'service' is required")
        kind = _kind_param(request.query_params.get("spanKind", ""))
        found = await service.operations(name, kind)
        data = [{"name": op, "spanKind": KIND_NAMES.get(k, "")} for op, k in found]
        return envelope(data, total=len(data))

    async def search(request: Request) -> Response:
        query_params = request.query_params
        trace_ids = [params.parse_trace_id(t) for t in query_params.getlist("traceID")]
        if trace_ids:
            return envelope(await service.jaeger_traces(trace_ids))
        query = params.classic_search(
            query_params, query_params.getlist("tags"), query_params.getlist("tag")
        )
        traces, complete = await service.find_jaeger_traces(query)
        if complete:
            return envelope(traces)
        return envelope(traces, errors=[{"code": 504, "msg": PARTIAL_SEARCH}])

    async def trace(request: Request) -> Response:
        trace_id = params.parse_trace_id(request.path_params["trace_id"])
        found = await service.jaeger_trace(trace_id)
        if found is None:
            return envelope_error(404, "trace not found")
        return envelope([found])

    async def dependencies(request: Request) -> Response:
        end_ms = params.time_ms(request.query_params, "endTs", params.now_us() // 1000)
        lookback_ms = params.time_ms(
            request.query_params, "lookback", _DEFAULT_DEPENDENCY_LOOKBACK_MS
        )
        links = await service.dependencies((end_ms - lookback_ms) * 1000, end_ms * 1000)
        wanted = request.query_params.get("service")
        data = [
            {"parent": parent, "child": child, "callCount": count}
            for parent, child, count in links
            if not wanted or wanted in (parent, child)
        ]
        return envelope(data)

    async def v3_services(request: Request) -> Response:
        return JSONResponse({"services": await service.services()})

    async def v3_operations(request: Request) -> Response:
        kind = _kind_param(request.query_params.get("span_kind", ""))
        found = await service.operations(request.query_params.get("service", ""), kind)
        operations = []
        for name, k in found:
            operation = {"name": name}
            if k in KIND_NAMES:
                operation["spanKind"] = KIND_NAMES[k]
            operations.append(operation)
        return JSONResponse({"operations": operations})

    async def v3_search(request: Request) -> Response:
        query_params = request.query_params
        attributes = {
            key[len("query.attributes[") : -1]: value
            for key, value in query_params.items()
            if key.startswith("query.attributes[") and key.endswith("]")
        }
        query = params.v3_search(query_params, attributes)
        resource_spans = await service.find_resource_spans(query)
        if not resource_spans:
            return v3_error(404, "No traces found")
        return JSONResponse({"result": {"resourceSpans": resource_spans}})

    async def v3_trace(request: Request) -> Response:
        try:
            trace_id = params.parse_trace_id(request.path_params["trace_id"])
        except ParamError as exc:
            raise ParamError(f"malformed parameter trace_id: {exc}") from None
        resource_spans = await service.otlp_trace(trace_id)
        if resource_spans is None:
            return v3_error(404, "trace not found")
        return JSONResponse({"result": {"resourceSpans": resource_spans}})

    return [
        Route("/services", services),
        Route("/services/{service}/operations", operations_legacy),
        Route("/operations", operations),
        Route("/traces", search),
        Route("/traces/{trace_id}", trace),
        Route("/dependencies", dependencies),
        Route("/v3/services", v3_services),
        Route("/v3/operations", v3_operations),
        Route("/v3/traces", v3_search),
        Route("/v3/traces/{trace_id}", v3_trace),
    ]
