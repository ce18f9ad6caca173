"""The one gRPC-code → HTTP-status table, and the error body every failure is rendered as:
`{"code": <grpc code int>, "message": "...", "details": [...], "traceId": "..."}`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, cast

import grpc
from google.protobuf import json_format
from google.rpc import status_pb2  # type: ignore[import-untyped]  # no stubs are published

# grpc-gateway v2's mapping (runtime/errors.go HTTPStatusFromCode); anything absent is 500.
HTTP_STATUS_BY_CODE: dict[grpc.StatusCode, int] = {
    grpc.StatusCode.OK: 200,
    grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}

_STATUS_DETAILS_KEY = "grpc-status-details-bin"
_MAX_MESSAGE_CHARS = 1000


def http_status(code: grpc.StatusCode) -> int:
    """The HTTP status for a gRPC code; 500 for every code the table does not name."""
    return HTTP_STATUS_BY_CODE.get(code, 500)


class GatewayError(Exception):
    """A failure to answer with the error body; `status` defaults to the table's."""

    def __init__(
        self,
        code: grpc.StatusCode,
        message: str,
        *,
        status: int | None = None,
        headers: tuple[tuple[bytes, bytes], ...] = (),
        details: tuple[dict[str, Any], ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = http_status(code) if status is None else status
        self.headers = headers
        self.details = details


def invalid_argument(message: str) -> GatewayError:
    return GatewayError(grpc.StatusCode.INVALID_ARGUMENT, message)


UNAUTHENTICATED_HEADERS = ((b"www-authenticate", b'Basic realm="onehub"'),)


def from_rpc_error(error: grpc.aio.AioRpcError) -> GatewayError:
    """Translate what the gRPC server answered, keeping its message and any
    `google.rpc.Status` details it attached (those whose types are known)."""
    code = error.code()
    headers = UNAUTHENTICATED_HEADERS if code == grpc.StatusCode.UNAUTHENTICATED else ()
    message = error.details() or code.name
    return GatewayError(code, message, headers=headers, details=_status_details(error))


def _status_details(error: grpc.aio.AioRpcError) -> tuple[dict[str, Any], ...]:
    trailers = cast("Iterable[tuple[str, str | bytes]]", error.trailing_metadata() or ())
    for key, value in trailers:
        if key == _STATUS_DETAILS_KEY and isinstance(value, bytes):
            try:
                status = status_pb2.Status.FromString(value)
                return tuple(json_format.MessageToDict(detail) for detail in status.details)
            except (
                Exception
            ):  # undecodable details are dropped: the error itself still reaches the client
                return ()
    return ()


def error_body(error: GatewayError, trace_id: str | None) -> bytes:
    """The JSON error document; the trace id is included when there is one."""
    document: dict[str, Any] = {
        "code": error.code.value[0],
        "message": error.message[:_MAX_MESSAGE_CHARS],
        "details": list(error.details),
    }
    if trace_id:
        document["traceId"] = trace_id
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
