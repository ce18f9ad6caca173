"""What both OTLP receivers share: decoding a request and handing it to the pipelines, with
one table of failures and the gRPC code and HTTP status each one means (OTLP specification:
400/INVALID_ARGUMENT is permanent, 413/RESOURCE_EXHAUSTED without retry info is permanent,
503/UNAVAILABLE with Retry-After asks the sender to retry)."""

from __future__ import annotations

from typing import Literal

import grpc
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from onehub_collector.batch import (
    REQUEST_TYPES,
    ExportFailedError,
    ExportRequest,
    PipelineFullError,
)
from onehub_collector.config import Signal
from onehub_collector.otlp_json import OtlpJsonError, parse_otlp_json
from onehub_collector.pipeline import Pipelines
from onehub_collector.receivers.validate import Rejected, reject_invalid_spans

Encoding = Literal["protobuf", "json"]
RETRY_AFTER_S = 1
# A store that cannot write (disk full) does not recover within a second.
STORE_RETRY_AFTER_S = 5
# How long a request may wait for room in a full pipeline before it is refused as busy.
ROOM_WAIT_S = 0.5


class ReceiveError(Exception):
    """A request the collector refuses; the class says how each transport reports it."""

    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL
    retry_after_s: int | None = None


class BadRequestError(ReceiveError):
    http_status = 400
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class TooLargeError(ReceiveError):
    http_status = 413
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class UnsupportedMediaTypeError(ReceiveError):
    http_status = 415
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class SignalNotEnabledError(ReceiveError):
    http_status = 404
    grpc_code = grpc.StatusCode.UNIMPLEMENTED


class BusyError(ReceiveError):
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE
    retry_after_s = RETRY_AFTER_S


class StoreUnavailableError(ReceiveError):
    """The store could not commit the request (disk full, I/O error): nothing of it is kept."""

    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE
    retry_after_s = STORE_RETRY_AFTER_S


def decode(signal: Signal, body: bytes, encoding: Encoding) -> ExportRequest:
    """The export request in `body`; BadRequestError saying why when it is not one."""
    request_type = REQUEST_TYPES[signal]
    if encoding == "json":
        try:
            return parse_otlp_json(body, request_type)
        except OtlpJsonError as exc:
            raise BadRequestError(f"invalid OTLP/JSON {signal} request: {exc}") from None
    try:
        return request_type.FromString(body)
    except DecodeError:
        raise BadRequestError(f"invalid OTLP/protobuf {signal} request: cannot decode") from None


async def wait_for_room(pipelines: Pipelines, signal: Signal, size: int) -> None:
    """Before decoding: wait a little (ROOM_WAIT_S at most) while the pipeline is full, so a
    steady sender is slowed down rather than refused (see Pipelines.wait_for_room)."""
    await pipelines.wait_for_room(signal, size, ROOM_WAIT_S)


async def ingest(
    pipelines: Pipelines, signal: Signal, request: ExportRequest, size: int
) -> Rejected:
    """Hand a decoded request to the pipelines and return once it may be acknowledged (see
    `onehub_collector.pipeline`: with a store, when its transaction is committed); returns
    what was rejected from it (spans with invalid ids), for the partial-success answer.

    Raises SignalNotEnabledError when no pipeline takes this signal, BusyError when the
    pipeline is full and StoreUnavailableError when the store could not commit it (in both,
    nothing is kept and the sender should retry after `retry_after_s`).
    """
    if not pipelines.accepts(signal):
        raise SignalNotEnabledError(f"this collector has no {signal} pipeline")
    rejected = Rejected()
    if isinstance(request, ExportTraceServiceRequest):
        rejected = reject_invalid_spans(request)
    try:
        _, waits = pipelines.consume(signal, request, size)
    except PipelineFullError as exc:
        raise BusyError(f"collector busy, retry later: {exc}") from None
    failure: ExportFailedError | None = None
    for future in waits:  # every one is awaited, so no outcome goes unretrieved
        try:
            await future
        except ExportFailedError as exc:
            failure = failure or exc
    if failure is not None:
        raise StoreUnavailableError(str(failure))
    return rejected


def export_response(signal: Signal, rejected: Rejected) -> Message:
    """The Export*ServiceResponse: empty, or with `partial_success` when items were rejected."""
    if signal == "traces":
        if not rejected.count:
            return ExportTraceServiceResponse()
        return ExportTraceServiceResponse(
            partial_success=ExportTracePartialSuccess(
                rejected_spans=rejected.count, error_message=rejected.message
            )
        )
    if signal == "metrics":
        return ExportMetricsServiceResponse()
    return ExportLogsServiceResponse()
