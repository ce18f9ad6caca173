"""The one gRPC-code → HTTP-status table, and the error body every failure is rendered as:
`{"code": <grpc code int>, "message": "...", "details": [...], "traceId": "..."}`."""

from __future__ import annotations

import json
import math
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

# Codes whose answer always says when to retry (Retry-After, seconds), even when the server gave
# no `grpc-retry-pushback-ms` trailer; any code carrying that trailer passes it on as well.
DEFAULT_RETRY_AFTER_S_BY_CODE: dict[grpc.StatusCode, int] = {grpc.StatusCode.UNAVAILABLE: 1}
_RETRY_PUSHBACK_KEY = "grpc-retry-pushback-ms"

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


def retry_after_header(seconds: float) -> tuple[bytes, bytes]:
    """`Retry-After` in whole seconds, rounded up (at least 1)."""
    return (b"retry-after", b"%d" % max(math.ceil(seconds), 1))


def from_rpc_error(error: grpc.aio.AioRpcError) -> GatewayError:
    """Translate what the gRPC server answered, keeping its message and any
    `google.rpc.Status` details it attached (those whose types are known). UNAUTHENTICATED
    carries `WWW-Authenticate`; a `grpc-retry-pushback-ms` trailer (or, for UNAVAILABLE, the
    default) becomes `Retry-After`."""
    code = error.code()
    headers = UNAUTHENTICATED_HEADERS if code == grpc.StatusCode.UNAUTHENTICATED else ()
    retry_after = _retry_pushback_s(error)
    if retry_after is None:
        retry_after = DEFAULT_RETRY_AFTER_S_BY_CODE.get(code)
    if retry_after is not None:
        headers = (*headers, retry_after_header(retry_after))
    message = error.details() or code.name
    return GatewayError(code, message, headers=headers, details=_status_details(error))


def _retry_pushback_s(error: grpc.aio.AioRpcError) -> float | None:
    trailers = cast("Iterable[tuple[str, str | bytes]]", error.trailing_metadata() or ())
    for key, value in trailers:
        if key == _RETRY_PUSHBACK_KEY and isinstance(value, str) and value.isdigit():
            return int(value) / 1000
    return None


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
