"""Response envelopes: Jaeger's classic `{data, total, limit, offset, errors}` and the v3
gateway's `{"error": {httpCode, message}}`; one place each, used by every route."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


def envelope(
    data: Any, *, total: int = 0, status: int = 200, errors: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """Success; `errors` carries warnings about a partial answer, as Jaeger does."""
    return JSONResponse(
        {"data": data, "total": total, "limit": 0, "offset": 0, "errors": errors},
        status_code=status,
    )


def envelope_error(status: int, message: str) -> JSONResponse:
    return JSONResponse(
        {
            "data": None,
            "total": 0,
            "limit": 0,
            "offset": 0,
            "errors": [{"code": status, "msg": message}],
        },
        status_code=status,
    )


def v3_error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"httpCode": status, "message": message}}, status_code=status)
